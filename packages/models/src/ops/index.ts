/** Recsys interaction ops as tfjs ops over tsrec's fused-op kernels. */
export { fmInteraction } from './fm_interaction';
export { dotInteraction } from './dot_interaction';
export { crossV2Layer } from './cross_v2_layer';
export type { InteractionKernel } from './kernels/interaction_reference';
export { fusedDense, type FusedDenseActivation } from './fused_dense';
