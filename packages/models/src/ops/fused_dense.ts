import * as tf from '@tensorflow/tfjs-core';
import { denseTsrec, isTsrecBackend } from '@tsrec/native';

/** Activations of `fusedDense` (tfjs's fused matmul names). */
export type FusedDenseActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

/**
 * A dense layer's maths, y = act(x·kernel + bias) for x [B, K], kernel [K, N], bias [N], as one op
 * that stays fused while training. tfjs's `tf.fused.matMul` splits into matMul + add + activation
 * (and a five-op backward) whenever a gradient is recorded; on the `tsrec` backend this op instead
 * runs one native kernel forward (BLAS with the bias and ReLU in its epilogue) and one backward
 * (ReLU mask, bias sums and both GEMMs: @tsrec/native `denseTsrec`), with the same float32
 * results. Other backends, activations other than linear/ReLU, and non-float32 or non-2-D inputs
 * use `tf.fused.matMul` unchanged.
 */
export function fusedDense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias?: tf.Tensor1D | null, activation: FusedDenseActivation = 'linear', leakyreluAlpha = 0.2): tf.Tensor2D {
  if (
    isTsrecBackend() &&
    (activation === 'linear' || activation === 'relu') &&
    x.rank === 2 &&
    kernel.rank === 2 &&
    x.dtype === 'float32' &&
    kernel.dtype === 'float32' &&
    x.shape[1] === kernel.shape[0] &&
    (bias == null || (bias.rank === 1 && bias.dtype === 'float32' && bias.shape[0] === kernel.shape[1]))
  ) {
    return denseTsrec(x, kernel, bias ?? null, activation);
  }
  return tf.fused.matMul({ a: x, b: kernel, bias: bias ?? undefined, activation, leakyreluAlpha }) as tf.Tensor2D;
}
