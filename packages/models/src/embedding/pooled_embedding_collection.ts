import type { SparseBatch } from '@tsrec/native';

/**
 * What model code may know of an embedding collection: the pooled layout and the two calls.
 * `@tsrec/native`'s `EmbeddingCollection` (CPU or CUDA) satisfies it, and so will a sharded
 * collection; models receive one and never construct it (torchrec's modules/distributed split).
 */
export interface PooledEmbeddingCollection {
  /** Columns of the pooled output: Σ dim of the SUM/MEAN features. */
  readonly pooledDim: number;
  /**
   * Columns of each pooled output when there are several (co-located tables, e.g. a deep table
   * and its `_wide` table in the same rows, write to two outputs); absent means [pooledDim].
   */
  readonly pooledDims?: readonly number[];
  /**
   * Features in output order; `pooledOffset` is the first column (-1 for NONE pooling);
   * `members`, where given, the columns of every table the feature pools, per output.
   */
  readonly features: readonly {
    readonly name: string;
    readonly table: number;
    readonly pooledOffset: number;
    readonly pooling: string;
    readonly members?: readonly { readonly table: number; readonly output: number; readonly offset: number }[];
  }[];
  /** Tables, for each feature's width. */
  readonly tables: readonly { readonly name: string; readonly dim: number }[];
  /**
   * Pools a batch: [B, pooledDim] row-major, into `out.pooled` when given (B·pooledDim floats),
   * else a fresh array; with several outputs, into `out.outputs` (one array per output).
   */
  forward(
    batch: SparseBatch,
    out?: { pooled?: Float32Array; outputs?: Float32Array[] },
  ): { pooled: Float32Array; outputs?: Float32Array[] };
  /** Fused backward + sparse optimizer step from dL/dpooled [B, pooledDim] (one per output) at learning rate `lr`. */
  backwardAndUpdate(batch: SparseBatch, gradPooled: Float32Array | Float32Array[], lr: number): void;
}
