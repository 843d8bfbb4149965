import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_SIGMOID_BCE } from '@tsrec/native';

import { checkRange, checkWeights, fusedLossOp, perSample, type LossInput } from './fused_loss_op';

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
 * and beyond, NaN/Inf in logits, labels or weights reported as an error. The kernel is the active
 * backend's TsrecSigmoidBce: native on `tsrec`, the TS reference (kernels/sigmoid_bce_kernel.ts)
 * elsewhere.
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
  return fusedLossOp(op, TSREC_SIGMOID_BCE, logits, { labels: y, weights: w, labelSmoothing: s });
}
