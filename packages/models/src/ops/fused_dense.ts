import * as tf from '@tensorflow/tfjs-core';
import { isInputData, TSREC_DENSE, TSREC_DENSE_BLOCKS, TSREC_DENSE_BLOCKS_GRAD, TSREC_DENSE_GRAD } from '@tsrec/native';

import { concatColumns } from '../embedding/select_columns';
import './kernels/register_all_kernels';

/** Activations of `fusedDense` (tfjs's fused matmul names). */
export type FusedDenseActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

/**
 * A dense layer's maths, y = act(x·kernel + bias) for x [B, K], kernel [K, N], bias [N], as one op
 * that stays fused while training. tfjs's `tf.fused.matMul` splits into matMul + add + activation
 * (and a five-op backward) whenever a gradient is recorded; for float32 2-D inputs and a linear or
 * ReLU activation this op instead runs the kernels TsrecDense forward and TsrecDenseGrad backward
 * (native on the `tsrec` backend: BLAS with the bias and ReLU in its epilogue, then the ReLU mask,
 * bias sums and both GEMMs in one call; on the other backends the reference kernels compose their
 * own fused matmul, matmul, step, multiply and sum kernels: the floats of tf.fused.matMul). Other activations, dtypes and ranks use `tf.fused.matMul` unchanged. `input`
 * may be column blocks whose concatenation is x ([B, K_i] each): the kernels TsrecDenseBlocks and
 * TsrecDenseBlocksGrad take them as they are (natively on tsrec a GEMM per block, and per block dx
 * and dW rows in the backward; the reference concatenates and splits).
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
    (activation === 'linear' || activation === 'relu') &&
    kernel.rank === 2 &&
    kernel.dtype === 'float32' &&
    xs.every((b) => b.rank === 2 && b.dtype === 'float32' && b.shape[0] === B) &&
    xs.reduce((k, b) => k + b.shape[1], 0) === kernel.shape[0] &&
    (bias == null || (bias.rank === 1 && bias.dtype === 'float32' && bias.shape[0] === kernel.shape[1]))
  ) {
    // Column blocks: one op over them (no concat, no split in the backward on tsrec).
    return xs.length === 1
      ? dense(xs[0], kernel, bias ?? null, activation)
      : denseBlocks(xs, kernel, bias ?? null, activation);
  }
  const x = xs.length === 1 ? xs[0] : concatColumns(xs);
  return tf.fused.matMul({ a: x, b: kernel, bias: bias ?? undefined, activation, leakyreluAlpha }) as tf.Tensor2D;
}

/**
 * y = act(x·w + bias) (shapes and dtypes checked by the caller) as a custom-gradient op: the
 * forward is the TsrecDense kernel, the backward the TsrecDenseGrad kernel, which skips dx for
 * input data (`markInputData`).
 */
function dense(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D | null, activation: 'linear' | 'relu'): tf.Tensor2D {
  const noInputGrad = isInputData(x);
  const forward = (xs: tf.Tensor[], save: tf.GradSaveFunc) => {
    const [a, b, c] = xs;
    const y = tf
      .engine()
      .runKernel(TSREC_DENSE, c ? { x: a, w: b, bias: c } : { x: a, w: b }, { activation }) as tf.Tensor2D;
    save([a, b, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(TSREC_DENSE_GRAD, { x: saved[0], w: saved[1], y: saved[2], dy }, {
          activation,
          hasBias: c != null,
          noInputGrad,
        } as unknown as tf.NamedAttrMap) as tf.Tensor[],
    };
  };
  if (bias) {
    const run = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, save: tf.GradSaveFunc) =>
      forward([a, b, c], save)) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
    return run(x, w, bias);
  }
  const run = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) =>
    forward([a, b], save)) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return run(x, w);
}

/**
 * `dense` over column blocks xs[i] [M, K_i] (checked by the caller) without a concatenated input:
 * the TsrecDenseBlocks kernel forward and TsrecDenseBlocksGrad backward, which skips dx of the
 * blocks that are input data.
 */
function denseBlocks(
  xs: readonly tf.Tensor2D[],
  w: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  activation: 'linear' | 'relu',
): tf.Tensor2D {
  const n = xs.length;
  const hasBias = bias != null;
  const noGradBlocks = xs.flatMap((x, i) => (isInputData(x) ? [i] : []));
  const body = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const ts = args.slice(0, args.length - 1) as tf.Tensor[];
    const inputs: Record<string, tf.Tensor> = {};
    for (let i = 0; i < n; i++) inputs[`x${i}`] = ts[i];
    inputs.w = ts[n];
    if (hasBias) inputs.bias = ts[n + 1];
    const y = tf
      .engine()
      .runKernel(TSREC_DENSE_BLOCKS, inputs, { activation, numBlocks: n } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
    save([...ts.slice(0, n + 1), y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g: Record<string, tf.Tensor> = { w: saved[n], y: saved[n + 1], dy };
        for (let i = 0; i < n; i++) g[`x${i}`] = saved[i];
        return tf.engine().runKernel(TSREC_DENSE_BLOCKS_GRAD, g, {
          activation,
          hasBias,
          numBlocks: n,
          noGradBlocks,
        } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  };
  const run = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]) as unknown as (
    ...t: tf.Tensor[]
  ) => tf.Tensor2D;
  return hasBias ? run(...xs, w, bias) : run(...xs, w);
}
