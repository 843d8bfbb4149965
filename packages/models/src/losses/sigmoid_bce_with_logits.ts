import type * as tf from '@tensorflow/tfjs-core';
import { isTsrecBackend, sigmoidBceKernelTsrec } from '@tsrec/native';

import { checkRange, checkWeights, fusedLossOp, perSample, type LossInput } from './fused_loss_op';
import { lossKernels, TS_LOSS_KERNELS } from './loss_kernels';

/** Options of `sigmoidBceWithLogits`. */
export interface SigmoidBceOptions {
  /** Per-sample weights; the loss is Σ w·ℓ / Σ w. */
  weights?: LossInput | null;
  /** Targets become y·(1 − s) + s/2 (tsrec's `label_smoothing`). */
  labelSmoothing?: number;
}

/**
 * Sigmoid binary cross-entropy on logits [B] or [B, 1] against labels in [0, 1] (TorchEasyRec
 * `binary_cross_entropy`), fused: loss and d_logits in one pass, exact for |logit| up to 1e4
 * and beyond, NaN/Inf in logits, labels or weights reported as an error. On the `tsrec` backend
 * the kernel is native (@tsrec/native `sigmoidBceKernelTsrec`) unless `setLossKernels` replaced it.
 */
export function sigmoidBceWithLogits(logits: tf.Tensor, labels: LossInput, options: SigmoidBceOptions = {}): tf.Scalar {
  const op = 'sigmoid_bce_with_logits';
  const s = options.labelSmoothing ?? 0;
  checkRange(op, 'labelSmoothing', s, 0, 1);
  const n = logits.size;
  if (logits.rank > 2 || (logits.rank === 2 && logits.shape[1] !== 1)) {
    throw new RangeError(`Expected logits of shape [B] or [B, 1] for ${op} but received [${logits.shape.join(', ')}]`);
  }
  const y = perSample(op, 'labels', labels, n)!;
  const w = perSample(op, 'weights', options.weights, n);
  checkWeights(op, w);
  const active = lossKernels().sigmoidBce;
  const kernel = isTsrecBackend() && active === TS_LOSS_KERNELS.sigmoidBce ? sigmoidBceKernelTsrec : active;
  return fusedLossOp(op, logits, 1, (x, d) => kernel(x, y, w, s, d));
}
