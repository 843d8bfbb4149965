import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_L2_LOSS } from '@tsrec/native';

import { checkWeights, fusedLossOp, perSample, type LossInput } from './fused_loss_op';

/** Options of `l2Loss`. */
export interface L2LossOptions {
  weights?: LossInput | null;
}

/** Mean squared error of predictions [B] or [B, 1] (TorchEasyRec `l2_loss`), fused. */
export function l2Loss(preds: tf.Tensor, labels: LossInput, options: L2LossOptions = {}): tf.Scalar {
  const op = 'l2_loss';
  if (preds.rank > 2 || (preds.rank === 2 && preds.shape[1] !== 1)) {
    throw new RangeError(`Expected preds of shape [B] or [B, 1] for ${op} but received [${preds.shape.join(', ')}]`);
  }
  const n = preds.size;
  const y = perSample(op, 'labels', labels, n)!;
  const w = perSample(op, 'weights', options.weights, n);
  checkWeights(op, w);
  return fusedLossOp(op, TSREC_L2_LOSS, preds, { labels: y, weights: w });
}
