/** The model zoo: the base classes, the registry and the models (importing registers them). */
export type { EmbeddingCollectionSpec, EmbeddingRole, ModelBatch, ModelContext, ModelFeature } from './model_context';
export type {
  LoadWeightsOptions,
  MetricGroups,
  ModelTask,
  Predictions,
  TrainableModel,
  WeightValues,
} from './trainable_model';
export { BaseModel } from './base_model';
export { RankModel } from './rank_model';
export { createLoss, labelRulesOf, type LabelRule, type ModelLoss } from './model_loss';
export { createModel, registerModel, registeredModels, type ModelClass } from './model_registry';
export { DeepFM } from './deepfm';
export { WideAndDeep } from './wide_and_deep';
export { DLRM } from './dlrm';
export { DCNV1 } from './dcn_v1';
export { DCNV2 } from './dcn_v2';
export { MultiTower } from './multi_tower';
export { MaskNet } from './mask_net';
export { XDeepFM } from './xdeepfm';
export { SimpleMultiTask } from './simple_multi_task';
export { MMoE } from './mmoe';
export { DBMTL } from './dbmtl';
export { PLE } from './ple';
export { DSSM, type TowerName } from './dssm';
