/**
 * Sigmoid binary cross-entropy with logits, loss and d_logits in one pass (float64 inside):
 *   y' = y·(1 − s) + s/2,  ℓ_i = max(x,0) − x·y' + log1p(e^{−|x|}),  ∂ℓ_i/∂x = σ(x) − y'
 * reduced as the weighted mean Σ w_i ℓ_i / Σ w_i; dLogits receives w_i(σ(x_i) − y'_i)/Σw.
 * Exact for any finite x (no exp overflow). Returns 0 with zero gradients when Σ w = 0.
 */
export function sigmoidBceKernel(
  logits: Float32Array,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  labelSmoothing: number,
  dLogits: Float32Array,
): number {
  const n = logits.length;
  const W = totalWeight(weights, n);
  if (W === 0) {
    dLogits.fill(0);
    return 0;
  }
  const inv = 1 / W;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    const y = labels[i] * (1 - labelSmoothing) + 0.5 * labelSmoothing;
    const w = weights ? weights[i] : 1;
    const e = Math.exp(-Math.abs(x));
    const sig = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    loss += w * (Math.max(x, 0) - x * y + Math.log1p(e));
    dLogits[i] = w * inv * (sig - y);
  }
  return loss * inv;
}

/** Σ weights (n when null). */
export function totalWeight(weights: ArrayLike<number> | null, n: number): number {
  if (!weights) return n;
  let W = 0;
  for (let i = 0; i < n; i++) W += weights[i];
  return W;
}
