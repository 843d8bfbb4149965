/** The model zoo: the base class, the registry and the models (importing registers them). */
export type { EmbeddingCollectionSpec, ModelBatch, ModelContext, ModelFeature } from './model_context';
export { RankModel, type Predictions } from './rank_model';
export { createLoss, type ModelLoss } from './model_loss';
export { createModel, registerModel, registeredModels, type ModelClass } from './model_registry';
export { DeepFM } from './deepfm';
export { WideAndDeep } from './wide_and_deep';
export { DLRM } from './dlrm';
