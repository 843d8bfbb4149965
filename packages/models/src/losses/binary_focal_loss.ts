import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_BINARY_FOCAL_LOSS } from '@tsrec/native';

import { checkWeights, fusedLossOp, perSample, type LossInput } from './fused_loss_op';

/** Options of `binaryFocalLoss` (TorchEasyRec defaults gamma 2, alpha 0.5). */
export interface BinaryFocalLossOptions {
  gamma?: number;
  alpha?: number;
  weights?: LossInput | null;
  /**
   * Treat the focal factor as a constant in the gradient, as TorchEasyRec does (default true);
   * false differentiates through it.
   */
  detachWeight?: boolean;
}

/** Binary focal loss on logits [B] or [B, 1] against 0/1 labels (TorchEasyRec `binary_focal_loss`), fused. */
export function binaryFocalLoss(logits: tf.Tensor, labels: LossInput, options: BinaryFocalLossOptions = {}): tf.Scalar {
  const op = 'binary_focal_loss';
  const gamma = options.gamma ?? 2;
  const alpha = options.alpha ?? 0.5;
  if (!(gamma >= 0) || !Number.isFinite(gamma))
    throw new RangeError(`Expected a finite number >= 0 for gamma of ${op} but received ${gamma}`);
  if (!(alpha > 0 && alpha < 1))
    throw new RangeError(`Expected a number in (0, 1) for alpha of ${op} but received ${alpha}`);
  if (logits.rank > 2 || (logits.rank === 2 && logits.shape[1] !== 1)) {
    throw new RangeError(`Expected logits of shape [B] or [B, 1] for ${op} but received [${logits.shape.join(', ')}]`);
  }
  const n = logits.size;
  const y = perSample(op, 'labels', labels, n)!;
  const w = perSample(op, 'weights', options.weights, n);
  checkWeights(op, w);
  const detach = options.detachWeight ?? true;
  return fusedLossOp(op, TSREC_BINARY_FOCAL_LOSS, logits, {
    labels: y,
    weights: w,
    gamma,
    alpha,
    detachWeight: detach,
  });
}
