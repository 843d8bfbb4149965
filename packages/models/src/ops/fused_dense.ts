import * as tf from '@tensorflow/tfjs-core';
import { denseBlocksTsrec, denseTsrec, isTsrecBackend } from '@tsrec/native';

import { concatColumns } from '../embedding/select_columns';

/** Activations of `fusedDense` (tfjs's fused matmul names). */
export type FusedDenseActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

/**
 * A dense layer's maths, y = act(x·kernel + bias) for x [B, K], kernel [K, N], bias [N], as one op
 * that stays fused while training. tfjs's `tf.fused.matMul` splits into matMul + add + activation
 * (and a five-op backward) whenever a gradient is recorded; on the `tsrec` backend this op instead
 * runs one native kernel forward (BLAS with the bias and ReLU in its epilogue) and one backward
 * (ReLU mask, bias sums and both GEMMs: @tsrec/native `denseTsrec`), with the same float32
 * results. Other backends, activations other than linear/ReLU, and non-float32 or non-2-D inputs
 * use `tf.fused.matMul` unchanged. `input` may be column blocks whose concatenation is x
 * ([B, K_i] each): on the tsrec backend one native op takes them as they are (`denseBlocksTsrec`:
 * a GEMM per block, and per block dx and dW rows in the backward), elsewhere they are concatenated.
 */
export function fusedDense(
  input: tf.Tensor2D | readonly tf.Tensor2D[],
  kernel: tf.Tensor2D,
  bias?: tf.Tensor1D | null,
  activation: FusedDenseActivation = 'linear',
  leakyreluAlpha = 0.2,
): tf.Tensor2D {
  const xs = (Array.isArray(input) ? input : [input]) as readonly tf.Tensor2D[];
  if (xs.length === 0) throw new RangeError('Expected at least one input block for fusedDense but received none');
  const B = xs[0].shape[0];
  if (
    isTsrecBackend() &&
    (activation === 'linear' || activation === 'relu') &&
    kernel.rank === 2 &&
    kernel.dtype === 'float32' &&
    xs.every((b) => b.rank === 2 && b.dtype === 'float32' && b.shape[0] === B) &&
    xs.reduce((k, b) => k + b.shape[1], 0) === kernel.shape[0] &&
    (bias == null || (bias.rank === 1 && bias.dtype === 'float32' && bias.shape[0] === kernel.shape[1]))
  ) {
    // Column blocks: one native op over them (no concat, no split in the backward).
    return xs.length === 1
      ? denseTsrec(xs[0], kernel, bias ?? null, activation)
      : denseBlocksTsrec(xs, kernel, bias ?? null, activation);
  }
  const x = xs.length === 1 ? xs[0] : concatColumns(xs);
  return tf.fused.matMul({ a: x, b: kernel, bias: bias ?? undefined, activation, leakyreluAlpha }) as tf.Tensor2D;
}
