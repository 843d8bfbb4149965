import type { EmbeddingInit } from '@tsrec/config';
import type { SparseBatch } from '@tsrec/native';

import type { LearningRate } from '../embedding/sparse_arch';
import type { PooledEmbeddingCollection } from '../embedding/pooled_embedding_collection';

/** One feature as a model sees it (a subset of @tsrec/config's `FeatureInfo`). */
export interface ModelFeature {
  name: string;
  /** Ids with an embedding table, as opposed to dense values. */
  isSparse: boolean;
  /** Embedding width (sparse features). */
  embeddingDim: number;
  /** Table name (features sharing `embedding_name` share it). */
  tableName: string;
  /** Rows of the table. */
  numRows?: number;
  /** Width of a dense feature (value_dim; default 1). */
  valueDim?: number;
  /** Pooling of a sparse feature's bag of ids (TorchEasyRec's `pooling`; default sum). */
  pooling?: 'sum' | 'mean';
  /** Initialisation of its table (its `init_fn`); default uniform(±1/sqrt(rows)). */
  init?: EmbeddingInit;
}

/** The tables and features of one embedding collection a model asks for. */
export interface EmbeddingCollectionSpec {
  /**
   * `coLocateWith` names a host table whose rows hold this table's columns (same rows; the
   * features reading the host pool both); `output` is the pooled output of its columns (default 0).
   */
  tables: {
    name: string;
    rows: number;
    dim: number;
    coLocateWith?: string;
    output?: number;
    /** Uniform init range (default ±1/sqrt(rows)), or every weight initValue. */
    initMin?: number;
    initMax?: number;
    initValue?: number;
  }[];
  /** In output order; the batch's sparse part is selected in this order. */
  features: { name: string; table: string; pooling: 'sum' | 'mean' }[];
}

/**
 * What a collection is for: `deep` (DEEP groups) and `wide` (WIDE groups) of ranking models,
 * `user` and `item` (the towers) of retrieval models.
 */
export type EmbeddingRole = 'deep' | 'wide' | 'user' | 'item';

/**
 * What a model is given besides its config: its features, a factory that builds embedding
 * collections wherever the trainer decides (CPU, CUDA, sharded — the model never knows), the
 * sparse learning rate, the label and sample weight names, and a seed.
 */
export interface ModelContext {
  features: readonly ModelFeature[];
  createEmbeddingCollection(spec: EmbeddingCollectionSpec, role: EmbeddingRole): PooledEmbeddingCollection;
  sparseLearningRate: LearningRate;
  /** Label field (data_config.label_fields[0]). */
  labelName: string;
  /** Sample weight field, if any. */
  sampleWeightName?: string;
  seed?: number;
}

/** The batch a model consumes; @tsrec/data's `Batch` satisfies it. */
export interface ModelBatch {
  batchSize: number;
  sparse: {
    readonly keys: readonly string[];
    select(keys: readonly string[]): { toSparseBatch(): SparseBatch };
    toSparseBatch(): SparseBatch;
  };
  /** [B, Σ denseDims] row-major. */
  dense: Float32Array;
  denseKeys: readonly string[];
  denseDims: readonly number[];
  labels: Record<string, Float32Array>;
  /** One array per sample weight field (data_config.sample_weight_fields). */
  sampleWeights?: Record<string, Float32Array>;
}
