/**
 * tsrec's TensorFlow.js backend: `tsrec` (the cpu backend plus native kernels) and the backend
 * choice. Importing this module registers the backend.
 */
export { registerTsrecBackend, setBlasThreads, TSREC_BACKEND_NAME } from './backend';
export { selectBackend, TFJS_NODE_PACKAGES } from './select_backend';
export type { SelectBackendOptions } from './select_backend';
export { TSREC_KERNEL_CONFIGS } from './register_all_kernels';
export { registerTfjsGradients } from './gradients';
export { registerTsrecGradientOverrides } from './gradient_overrides';
export { borrowFloat32, outputFloat32, isInputData, markInputData } from './fused_ops';
export { adamStepTsrec, FusedAdamOptimizer, fusedAdam } from './fused_adam';
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
} from './kernel_names';
export type {
  BinaryFocalLossAttrs,
  FusedLossAttrs,
  SigmoidBceAttrs,
  SoftmaxCrossEntropyAttrs,
} from './kernel_names';
