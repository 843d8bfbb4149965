import * as tf from '@tensorflow/tfjs-core';

import { softmaxCrossEntropy } from './softmax_cross_entropy';

/** Options of `jrcLoss`. */
export interface JrcLossOptions {
  /** Weight of the cross entropy (the rest weights the in-session ranking term); default 0.5. */
  alpha?: number;
}

/**
 * TorchEasyRec's `jrc_loss` (JRCLoss, tzrec/loss/jrc_loss.py; Sheng et al. 2022, "Joint
 * Optimization of Ranking and Calibration"): logits [B, 2], labels 0/1, a session id per sample.
 * α · CE(logits, labels) + (1 − α) · (P/B · L⁺ + N/B · L⁻), where L⁺ is the mean over the P
 * positives p of −log softmax over the positive logits (column 1) of p and the negatives of p's
 * session, and L⁻ the mean over the N negatives n of −log softmax over the negative logits
 * (column 0) of n and the positives of n's session. A batch without positives (or negatives)
 * contributes 0 for that term (TorchEasyRec's mean over no rows would be NaN).
 */
export function jrcLoss(
  logits: tf.Tensor,
  labels: Float32Array,
  sessions: ArrayLike<number>,
  options: JrcLossOptions = {},
): tf.Scalar {
  if (logits.rank !== 2 || logits.shape[1] !== 2)
    throw new RangeError(`Expected logits of shape [B, 2] for jrc_loss but received [${logits.shape.join(', ')}]`);
  const B = logits.shape[0]!;
  if (labels.length !== B || sessions.length !== B)
    throw new RangeError(
      `Expected ${B} labels and session ids for jrc_loss but received ${labels.length} and ${sessions.length}`,
    );
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`Expected alpha in [0, 1] for jrc_loss but received ${alpha}`);
  for (let i = 0; i < B; i++)
    if (labels[i] !== 0 && labels[i] !== 1)
      throw new RangeError(`Expected labels 0 or 1 for jrc_loss but received ${labels[i]} at sample ${i}`);
  return tf.tidy(() => {
    const ce = softmaxCrossEntropy(logits, labels);
    const ranking = sessionRanking(logits as tf.Tensor2D, labels, sessions);
    return tf.add(tf.mul(ce, alpha), tf.mul(ranking, 1 - alpha)) as tf.Scalar;
  });
}

/**
 * (1/B) · Σ_i [logsumexp over S_i of x_jc − x_ic], c = label_i, S_i = {i} ∪ {j in i's session with
 * the other label}: TorchEasyRec's masked softmaxes (a −1e9 logit is an exp of 0) without their
 * B × B masks — a session's rows only meet its own samples. Forward and gradient in one pass
 * (float64 inside).
 */
function sessionRanking(logits: tf.Tensor2D, labels: Float32Array, sessions: ArrayLike<number>): tf.Scalar {
  const B = labels.length;
  const op = tf.customGrad(((x: tf.Tensor) => {
    const v = x.dataSync() as Float32Array;
    const grad = new Float32Array(2 * B);
    const bySession = new Map<number, number[]>();
    for (let i = 0; i < B; i++) {
      const list = bySession.get(sessions[i]);
      if (list) list.push(i);
      else bySession.set(sessions[i], [i]);
    }
    let total = 0;
    for (const members of bySession.values())
      for (const i of members) {
        const c = labels[i];
        let max = v[2 * i + c];
        for (const j of members) if (labels[j] !== c && v[2 * j + c] > max) max = v[2 * j + c];
        let z = Math.exp(v[2 * i + c] - max);
        for (const j of members) if (labels[j] !== c) z += Math.exp(v[2 * j + c] - max);
        total += max + Math.log(z) - v[2 * i + c];
        grad[2 * i + c] += (Math.exp(v[2 * i + c] - max) / z - 1) / B;
        for (const j of members) if (labels[j] !== c) grad[2 * j + c] += Math.exp(v[2 * j + c] - max) / z / B;
      }
    return {
      value: tf.scalar(total / B),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor2d(grad, [B, 2])),
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]);
  return op(logits);
}
