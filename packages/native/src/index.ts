/**
 * @tsrec/native: the C++/CUDA core of tsrec. Table-batched embeddings with fused sparse
 * optimizers (`EmbeddingCollection`), hashing, build information and thread control, and the
 * `tsrec` TensorFlow.js backend. This file is the package's public surface (checked by
 * test/api_surface.test.ts against packages/native/api.txt); the addon loader and the raw
 * binding stay internal.
 */
export { collectionLayout, EmbeddingCollection, OPTIMIZER_STATES } from './embedding_collection';
export type {
  DeviceName,
  EmbeddingCollectionOptions,
  FeatureMember,
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
export { alignedFloat32Array, buildInfo, setNumThreads } from './runtime';
export { copyColumnRuns } from './column_runs';
export {
  bytesOf,
  chunkBegin,
  collectiveBytes,
  createCommunicator,
  LocalCommunicator,
  MpiCommunicator,
  mpiCompiled,
  mpiEnvironment,
  SimWorld,
  type CommStats,
  type Communicator,
  type ReduceOp,
} from './comm';
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
  registerTfjsGradients,
} from './tfjs';
export type { SelectBackendOptions } from './tfjs';
// Pieces the other tsrec packages build on (the fused Adam step, zero-copy tensor views, the
// input-data marks of the fused dense ops).
export {
  adamStepTsrec,
  borrowFloat32,
  outputFloat32,
  fusedAdam,
  FusedAdamOptimizer,
  isInputData,
  markInputData,
} from './tfjs';
// tsrec's fused-op kernels: their names (run by @tsrec/models' ops) and attrs.
export {
  TSREC_BINARY_FOCAL_LOSS,
  TSREC_DENSE,
  TSREC_DENSE_BLOCKS,
  TSREC_DENSE_BLOCKS_GRAD,
  TSREC_DENSE_GRAD,
  TSREC_DOT_INTERACTION,
  TSREC_DOT_INTERACTION_GRAD,
  TSREC_FM_INTERACTION,
  TSREC_FM_INTERACTION_GRAD,
  TSREC_L2_LOSS,
  TSREC_SIGMOID_BCE,
  TSREC_SOFTMAX_CROSS_ENTROPY,
} from './tfjs';
export type { BinaryFocalLossAttrs, FusedLossAttrs, SigmoidBceAttrs, SoftmaxCrossEntropyAttrs } from './tfjs';
