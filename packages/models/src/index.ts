/**
 * @tsrec/models: metrics, fused losses as tfjs ops, the embedding-collection bridge, interaction
 * ops and (next) the model zoo.
 */
export * from './metrics';
export * from './losses';
export { setUpTfjs } from './tfjs_setup';
export * from './embedding';
export * from './ops';
export * from './layers';
export * from './models';
export { EmbeddingGroup, type GroupedFeatures } from './embedding/embedding_group';
