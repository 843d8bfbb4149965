/** The embedding-collection ↔ tfjs bridge. */
export type { PooledEmbeddingCollection } from './pooled_embedding_collection';
export { SparseArch, type LearningRate, type SparseArchOptions } from './sparse_arch';
export { assembleColumns, concatColumns, selectColumns, type ColumnPick } from './select_columns';
