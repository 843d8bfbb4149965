import { denseReferenceKernel } from './TsrecDense';
import { denseBlocksReferenceKernels } from './TsrecDenseBlocks';
import { denseGradReferenceKernel } from './TsrecDenseGrad';
import { dotInteractionReferenceKernels } from './TsrecDotInteraction';
import { fmInteractionReferenceKernels } from './TsrecFmInteraction';
import { type ReferenceKernel, registerReferenceKernels } from './reference_kernel';

/**
 * Every TS reference kernel of the ops in ops/, registered when this module loads (for the
 * backends of reference_kernel.ts). Adding one: write kernels/<KernelName>.ts exporting a
 * ReferenceKernel, then list it here.
 */
export const OPS_REFERENCE_KERNELS: readonly ReferenceKernel[] = [
  ...fmInteractionReferenceKernels,
  ...dotInteractionReferenceKernels,
  denseReferenceKernel,
  denseGradReferenceKernel,
  ...denseBlocksReferenceKernels,
];

registerReferenceKernels(OPS_REFERENCE_KERNELS);
