/**
 * @tsrec/models: the model zoo built from TorchEasyRec model configs, its layers, fused losses
 * and interaction ops as tfjs ops, the embedding-collection bridge, and metrics. This file is the
 * package's public surface (checked by test/api_surface.test.ts against packages/models/api.txt);
 * everything else is internal.
 */

export { setUpTfjs } from './tfjs_setup';

// Models: the base classes, the registry and the models (importing registers them).
export type {
  EmbeddingCollectionSpec,
  EmbeddingRole,
  ModelBatch,
  ModelContext,
  ModelFeature,
} from './models/model_context';
export type {
  LoadWeightsOptions,
  MetricGroups,
  ModelTask,
  Predictions,
  TrainableModel,
  WeightValues,
} from './models/trainable_model';
export { BaseModel } from './models/base_model';
export { RankModel } from './models/rank_model';
export { createLoss, labelRulesOf, type LabelRule, type ModelLoss } from './models/model_loss';
export { createModel, registerModel, registeredModels, type ModelClass } from './models/model_registry';
export { DeepFM } from './models/deepfm';
export { WideAndDeep } from './models/wide_and_deep';
export { DLRM } from './models/dlrm';
export { DCNV1 } from './models/dcn_v1';
export { DCNV2 } from './models/dcn_v2';
export { MultiTower } from './models/multi_tower';
export { MaskNet } from './models/mask_net';
export { XDeepFM } from './models/xdeepfm';
export { SimpleMultiTask } from './models/simple_multi_task';
export { MMoE } from './models/mmoe';
export { DBMTL } from './models/dbmtl';
export { PLE } from './models/ple';
export { DSSM, type TowerName } from './models/dssm';

// Layers (tfjs-core variables) and the dropout/random stream tied to the training position.
export { Dense, applyActivation, type Activation, type DenseOptions } from './layers/dense';
export { Mlp } from './layers/mlp';
export { CrossNet, CrossV2Net } from './layers/cross_net';
export { LayerNorm } from './layers/layer_norm';
export { BatchNorm } from './layers/batch_norm';
export { setRandomPosition } from './layers/random_stream';

// The embedding-collection ↔ tfjs bridge.
export type { PooledEmbeddingCollection } from './embedding/pooled_embedding_collection';
export { SparseArch, type LearningRate, type SparseArchOptions } from './embedding/sparse_arch';
export { EmbeddingGroup, type GroupedFeatures } from './embedding/embedding_group';

// Interaction ops and fused layers (tfjs ops over tsrec's fused kernels).
export { fmInteraction } from './ops/fm_interaction';
export { dotInteraction } from './ops/dot_interaction';
export { crossV2Layer } from './ops/cross_v2_layer';
export { fusedDense, type FusedDenseActivation } from './ops/fused_dense';

// Fused losses (loss and d_logits in one pass).
export { sigmoidBceWithLogits, type SigmoidBceOptions } from './losses/sigmoid_bce_with_logits';
export { softmaxCrossEntropy, type SoftmaxCrossEntropyOptions } from './losses/softmax_cross_entropy';
export { l2Loss, type L2LossOptions } from './losses/l2_loss';
export { binaryFocalLoss, type BinaryFocalLossOptions } from './losses/binary_focal_loss';

// Metrics with TorchEasyRec's names: exact, streaming and mergeable across workers.
export type { GroupKeys, Metric, MetricInput } from './metrics/metric';
export { AucMetric, exactAuc, type AucState } from './metrics/auc';
export { GroupedAucMetric, groupedAuc, type GroupedAucState, type GroupKey } from './metrics/grouped_auc';
export {
  MulticlassAucMetric,
  multiclassAuc,
  type MulticlassAucState,
  type MulticlassAverage,
} from './metrics/multiclass_auc';
export { WeightedMeanMetric, type WeightedMeanState } from './metrics/weighted_mean';
export { LogLossMetric, binaryLogLoss } from './metrics/log_loss';
export { MeanSquaredErrorMetric } from './metrics/mean_squared_error';
export { MeanAbsoluteErrorMetric } from './metrics/mean_absolute_error';
export { AccuracyMetric, type AccuracyOptions } from './metrics/accuracy';
export { RecallAtKMetric, type RecallAtKState } from './metrics/recall_at_k';
export { NormalizedEntropyMetric, type NormalizedEntropyState } from './metrics/normalized_entropy';
export { createMetric, type ConfiguredMetric, type CreateMetricOptions } from './metrics/create_metric';
