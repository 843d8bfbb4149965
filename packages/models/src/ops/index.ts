/** Recsys interaction ops as tfjs custom-gradient ops. */
export { fmInteraction } from './fm_interaction';
export { dotInteraction } from './dot_interaction';
export { crossV2Layer } from './cross_v2_layer';
export {
  interactionKernels,
  setInteractionKernels,
  TS_INTERACTION_KERNELS,
  type InteractionKernel,
  type InteractionKernels,
} from './interaction_kernels';
export { fusedDense, type FusedDenseActivation } from './fused_dense';
