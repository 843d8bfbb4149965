import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_SOFTMAX_CROSS_ENTROPY } from '@tsrec/native';

import { checkRange, checkWeights, fusedLossOp, perSample, type LossInput } from './fused_loss_op';

/** Options of `softmaxCrossEntropy`. */
export interface SoftmaxCrossEntropyOptions {
  weights?: LossInput | null;
  /** Targets become (1 − s)·onehot + s/C. */
  labelSmoothing?: number;
}

/**
 * Softmax cross-entropy of logits [B, C] against class ids [B] (TorchEasyRec
 * `softmax_cross_entropy`), fused: loss and d_logits in one pass, stable for any finite logits.
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor,
  labels: LossInput,
  options: SoftmaxCrossEntropyOptions = {},
): tf.Scalar {
  const op = 'softmax_cross_entropy';
  if (logits.rank !== 2 || !(logits.shape[1]! >= 1))
    throw new RangeError(`Expected logits of shape [B, C] for ${op} but received [${logits.shape.join(', ')}]`);
  const [B, C] = logits.shape as [number, number];
  const s = options.labelSmoothing ?? 0;
  checkRange(op, 'labelSmoothing', s, 0, 1);
  const y = perSample(op, 'labels', labels, B)!;
  for (let i = 0; i < B; i++) {
    if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= C)
      throw new RangeError(`Expected a class id in [0, ${C}) for labels of ${op} but received ${y[i]} at sample ${i}`);
  }
  const w = perSample(op, 'weights', options.weights, B);
  checkWeights(op, w);
  return fusedLossOp(op, TSREC_SOFTMAX_CROSS_ENTROPY, logits, { labels: y, weights: w, labelSmoothing: s });
}
