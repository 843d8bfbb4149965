import { binaryFocalLossKernel } from './kernels/binary_focal_loss_kernel';
import { l2LossKernel } from './kernels/l2_loss_kernel';
import { sigmoidBceKernel } from './kernels/sigmoid_bce_kernel';
import { softmaxCrossEntropyKernel } from './kernels/softmax_cross_entropy_kernel';

/**
 * The inner loops of the fused losses. Each computes the reduced loss and writes d_logits in
 * one pass over float32 arrays; the ops own validation and the tfjs plumbing. This table is
 * the op boundary: a native kernel with the same signature (e.g. from @tsrec/native's
 * `loss.h`) can replace an entry with `setLossKernels`, and the ops' tests still apply.
 */
export interface LossKernels {
  sigmoidBce: typeof sigmoidBceKernel;
  softmaxCrossEntropy: typeof softmaxCrossEntropyKernel;
  l2: typeof l2LossKernel;
  binaryFocal: typeof binaryFocalLossKernel;
}

/** The pure-TS kernels (the reference implementations). */
export const TS_LOSS_KERNELS: Readonly<LossKernels> = Object.freeze({
  sigmoidBce: sigmoidBceKernel,
  softmaxCrossEntropy: softmaxCrossEntropyKernel,
  l2: l2LossKernel,
  binaryFocal: binaryFocalLossKernel,
});

let active: LossKernels = { ...TS_LOSS_KERNELS };

/** The kernels the loss ops call now. */
export function lossKernels(): Readonly<LossKernels> {
  return active;
}

/** Replaces some kernels (others keep their current implementation); returns the previous table. */
export function setLossKernels(kernels: Partial<LossKernels>): LossKernels {
  const prev = active;
  active = { ...active, ...kernels };
  return prev;
}
