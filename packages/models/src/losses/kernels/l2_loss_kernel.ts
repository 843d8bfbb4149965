import { totalWeight } from './sigmoid_bce_kernel';

/**
 * Squared error (TorchEasyRec `l2_loss`, torch MSELoss): ℓ_i = (x_i − y_i)², weighted mean;
 * ∂ℓ_i/∂x_i = 2(x_i − y_i).
 */
export function l2LossKernel(
  preds: Float32Array,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  dPreds: Float32Array,
): number {
  const n = preds.length;
  const W = totalWeight(weights, n);
  if (W === 0) {
    dPreds.fill(0);
    return 0;
  }
  const inv = 1 / W;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const d = preds[i] - labels[i];
    const w = weights ? weights[i] : 1;
    loss += w * d * d;
    dPreds[i] = 2 * w * inv * d;
  }
  return loss * inv;
}
