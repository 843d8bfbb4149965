import { totalWeight } from './sigmoid_bce_kernel';

/**
 * Softmax cross-entropy of logits [n, C] against class ids, in one pass (float64 inside):
 *   q = (1 − s)·onehot(y) + s/C,  ℓ_i = logsumexp(x_i) − Σ_c q_c x_ic,  ∂ℓ_i/∂x_ic = softmax(x_i)_c − q_c
 * reduced as the weighted mean; the max is subtracted before exp, so any finite logits are safe.
 */
export function softmaxCrossEntropyKernel(
  logits: Float32Array,
  numClasses: number,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  labelSmoothing: number,
  dLogits: Float32Array,
): number {
  const C = numClasses;
  const n = logits.length / C;
  const W = totalWeight(weights, n);
  if (W === 0) {
    dLogits.fill(0);
    return 0;
  }
  const inv = 1 / W;
  const off = labelSmoothing / C;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * C;
    const y = labels[i];
    let max = -Infinity;
    for (let c = 0; c < C; c++) if (logits[row + c] > max) max = logits[row + c];
    let z = 0;
    let qx = 0;
    for (let c = 0; c < C; c++) {
      const x = logits[row + c];
      z += Math.exp(x - max);
      qx += (off + (c === y ? 1 - labelSmoothing : 0)) * x;
    }
    const w = weights ? weights[i] : 1;
    loss += w * (max + Math.log(z) - qx);
    const scale = w * inv;
    for (let c = 0; c < C; c++) {
      const p = Math.exp(logits[row + c] - max) / z;
      dLogits[row + c] = scale * (p - off - (c === y ? 1 - labelSmoothing : 0));
    }
  }
  return loss * inv;
}
