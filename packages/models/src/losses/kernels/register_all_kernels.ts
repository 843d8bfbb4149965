import { type ReferenceKernel, registerReferenceKernels } from '../../ops/kernels/reference_kernel';
import { binaryFocalLossReferenceKernel } from './TsrecBinaryFocalLoss';
import { l2LossReferenceKernel } from './TsrecL2Loss';
import { sigmoidBceReferenceKernel } from './TsrecSigmoidBce';
import { softmaxCrossEntropyReferenceKernel } from './TsrecSoftmaxCrossEntropy';

/**
 * Every TS reference kernel of the fused losses, registered when this module loads (for the
 * backends of ops/kernels/reference_kernel.ts). Adding one: write kernels/<KernelName>.ts
 * exporting a ReferenceKernel, then list it here.
 */
export const LOSS_REFERENCE_KERNELS: readonly ReferenceKernel[] = [
  sigmoidBceReferenceKernel,
  softmaxCrossEntropyReferenceKernel,
  l2LossReferenceKernel,
  binaryFocalLossReferenceKernel,
];

registerReferenceKernels(LOSS_REFERENCE_KERNELS);
