/**
 * @tsrec/native: the C++/CUDA core of tsrec. Table-batched embeddings with fused sparse
 * optimizers (`EmbeddingCollection`), build information and thread control.
 */
export { EmbeddingCollection, OPTIMIZER_STATES } from './embedding_collection';
export type {
  DeviceName,
  EmbeddingCollectionOptions,
  FeatureSpec,
  ForwardResult,
  IndexArray,
  Pooling,
  ResolvedFeature,
  ResolvedTable,
  SparseBatch,
  SparseOptimizerSpec,
  SparseOptimizerType,
  TableSpec,
  WeightDecayMode,
} from './embedding_collection';
export { invalidParameterError, nativeError } from './errors';
export { addon, loadAddon, addonCandidates } from './addon';
export type { NativeAddon, NativeEmbeddingCollectionHandle } from './addon';
export { alignedFloat32Array, buildInfo, setNumThreads } from './runtime';
export * as reference from './reference';
export {
  checkNumBuckets,
  fingerprint64,
  fingerprint64Batch,
  hashBuckets,
  hashStringsToBuckets,
  packStrings,
  MAX_HASH_BUCKETS,
} from './hash';
export { hashIdFields, parseDecimalFields, splitDelimitedFast } from './text_fields';
export type { HashIdFieldsOptions, HashIdFieldsOutput } from './text_fields';
export {
  registerTsrecBackend,
  selectBackend,
  setBlasThreads,
  TSREC_BACKEND_NAME,
  TSREC_KERNEL_CONFIGS,
  TFJS_NODE_PACKAGES,
  registerTfjsGradients,
} from './tfjs';
export type { SelectBackendOptions } from './tfjs';
export {
  adamStepTsrec,
  borrowFloat32,
  outputFloat32,
  DENSE_TSREC_ACTIVATIONS,
  denseBlocksTsrec,
  denseTsrec,
  fmInteractionTsrec,
  fusedAdam,
  FusedAdamOptimizer,
  isTsrecBackend,
  markInputData,
  sigmoidBceKernelTsrec,
} from './tfjs';
