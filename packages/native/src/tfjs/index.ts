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
export {
  borrowFloat32,
  outputFloat32,
  DENSE_TSREC_ACTIVATIONS,
  denseBlocksTsrec,
  denseTsrec,
  fmInteractionTsrec,
  isTsrecBackend,
  markInputData,
  sigmoidBceKernelTsrec,
} from './fused_ops';
export { adamStepTsrec, FusedAdamOptimizer, fusedAdam } from './fused_adam';
export { TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD } from './kernels/TsrecFmInteraction';
