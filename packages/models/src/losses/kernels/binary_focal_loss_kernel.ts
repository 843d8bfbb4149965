import { totalWeight } from './sigmoid_bce_kernel';

/**
 * Binary focal loss on logits (TorchEasyRec's BinaryFocalLoss), one pass, float64 inside:
 *   p = σ(x),  m = α·y·(1−p)^γ + (1−α)·(1−y)·p^γ,  ℓ = m · bce(x, y)
 * weighted mean. TorchEasyRec detaches m (∂ℓ/∂x = m·(p − y)); with `detachWeight` false the
 * full derivative adds bce·∂m/∂x, written without (1−p)^{γ−1} so γ < 1 stays finite.
 * p and 1 − p both come from e^{−|x|}, so |x| up to 1e4 loses nothing.
 */
export function binaryFocalLossKernel(
  logits: Float32Array,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  gamma: number,
  alpha: number,
  detachWeight: boolean,
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
    const y = labels[i];
    const w = weights ? weights[i] : 1;
    const e = Math.exp(-Math.abs(x));
    const p = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    const q = x >= 0 ? e / (1 + e) : 1 / (1 + e); // 1 − p without cancellation
    const pg = p ** gamma;
    const qg = q ** gamma;
    const m = alpha * y * qg + (1 - alpha) * (1 - y) * pg;
    const bce = Math.max(x, 0) - x * y + Math.log1p(e);
    loss += w * m * bce;
    let g = m * (p - y);
    if (!detachWeight) {
      // ∂m/∂x = −α·y·γ·(1−p)^γ·p + (1−α)·(1−y)·γ·p^γ·(1−p)
      g += bce * gamma * (-alpha * y * qg * p + (1 - alpha) * (1 - y) * pg * q);
    }
    dLogits[i] = w * inv * g;
  }
  return loss * inv;
}
