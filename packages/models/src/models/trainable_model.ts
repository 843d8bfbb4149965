import type * as tf from '@tensorflow/tfjs-core';

import type { PooledEmbeddingCollection } from '../embedding/pooled_embedding_collection';
import type { Metric } from '../metrics/metric';
import type { EmbeddingRole, ModelBatch } from './model_context';
import type { ModelLoss } from './model_loss';

/**
 * Model outputs: `logits` [B] (or [B, C]) and `probs`, or `y` [B] for regression; multi-task
 * keys end in `_<tower_name>`; retrieval models give `similarity` [B, B], `user_tower_emb` and
 * `item_tower_emb`.
 */
export type Predictions = Record<string, tf.Tensor>;

/**
 * One task of a model: the single task of a ranking or retrieval model (suffix '', the
 * context's label, model_config.losses/metrics) or a multi-task model's task tower (suffix
 * `_<tower_name>`).
 */
export interface ModelTask {
  /** '' for the single task, else the tower name. */
  towerName: string;
  /** '' or `_<tower_name>`: appended to prediction, loss and metric names. */
  suffix: string;
  labelName: string;
  numClass: number;
  /** Factor of this task's losses in the training objective. */
  weight: number;
  sampleWeightName?: string;
  /**
   * TorchEasyRec's task space: samples whose `label` is > 0 weigh `inWeight` in this task's losses,
   * the others `outWeight` (times their sample weight).
   */
  taskSpace?: { label: string; inWeight: number; outWeight: number };
  losses: ModelLoss[];
  metrics: Metric[];
}

/** Values for `loadWeights`, by the names of `namedVariables()`: flat row-major arrays or tensors. */
export type WeightValues = Record<string, Float32Array | tf.Tensor>;

/** Options of `loadWeights`. */
export interface LoadWeightsOptions {
  /** Throw on missing and unexpected names (default true); shape mismatches always throw. */
  strict?: boolean;
}

/** Per-sample group keys for grouped metrics, by grouping_key feature name. */
export type MetricGroups = Record<string, ArrayLike<number> | readonly string[]>;

/**
 * What a trainer codes against; every model (`RankModel` subclasses, `DSSM`) satisfies it.
 * Dense variables live in tfjs; embedding tables live in the collections the model asked the
 * context for (`embeddingCollections()`), which the trainer saves and restores itself.
 */
export interface TrainableModel {
  /** The tasks (labels, tower suffixes, losses, metrics). */
  readonly tasks: readonly ModelTask[];
  /** Predictions of a batch; `training` enables dropout, batch-norm statistics and the sparse update. */
  predict(batch: ModelBatch, options?: { training?: boolean }): Predictions;
  /** Losses by name (TorchEasyRec names, task weights applied); training minimises their sum. */
  loss(predictions: Predictions, batch: ModelBatch): Record<string, tf.Scalar>;
  /** Adds a batch's predictions to every metric (`groups`: grouping_key values for grouped AUC). */
  updateMetrics(predictions: Predictions, batch: ModelBatch, groups?: MetricGroups): void;
  /** Current metric values by name; resets them when `reset` (default true). */
  computeMetrics(reset?: boolean): Record<string, number>;
  /** What the dense optimizer differentiates: trainable dense variables plus the sparse arches' zero-gradient anchors. */
  readonly trainableVariables: tf.Variable[];
  /**
   * Every dense variable (trainable and not, e.g. batch-norm moving statistics) with its
   * scope-relative name (`deep/mlp_0/kernel`): unique, the same in every instance and process
   * for the same config; the sparse arches' anchors are not included.
   */
  namedVariables(): Array<[name: string, variable: tf.Variable]>;
  /** Assigns variables by name (see `WeightValues`); validates everything before assigning anything. */
  loadWeights(values: WeightValues, options?: LoadWeightsOptions): void;
  /** Trainable dense parameters (embedding tables and non-trainable statistics excluded). */
  readonly denseParameterCount: number;
  /** One step: forward, losses, backward; sparse tables update during backprop, dense variables by `optimizer`. Returns the loss. */
  trainStep(batch: ModelBatch, optimizer: tf.Optimizer): number;
  /** The embedding collections the model asked the context for, by role. */
  embeddingCollections(): Partial<Record<EmbeddingRole, PooledEmbeddingCollection>>;
  /** Frees the model's variables (collections belong to the context). */
  dispose(): void;
}
