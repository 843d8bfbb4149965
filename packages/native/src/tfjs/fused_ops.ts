import * as tf from '@tensorflow/tfjs-core';

import { TSREC_BACKEND_NAME, TsrecMathBackend } from './backend';
import { kernelAddon } from './kernel_addon';
import { TSREC_DENSE_BLOCKS, TSREC_DENSE_BLOCKS_GRAD } from './kernels/TsrecDenseBlocks';
import { TSREC_DENSE_GRAD } from './kernels/TsrecDenseGrad';
import { TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD } from './kernels/TsrecFmInteraction';

/**
 * tsrec's fused recsys ops on the `tsrec` backend (native/include/tsrec/fused_kernels.h). The
 * model-facing ops in @tsrec/models (`fmInteraction`, `sigmoidBceWithLogits`) validate their
 * inputs, then call these when the active backend is `tsrec`, and their pure-TS reference
 * kernels on any other backend.
 */

/** Whether the active tfjs backend is `tsrec` (so the native fused ops apply). */
export function isTsrecBackend(): boolean {
  return tf.getBackend() === TSREC_BACKEND_NAME;
}

/**
 * FM second-order interaction of x [B, N, D] → [B, D] (½((Σ_n x)² − Σ_n x²) per dim) as a
 * custom-gradient op whose forward and backward are one native kernel each (outputs from the
 * backend's pool; no `ones`, no intermediate tensors). Needs the `tsrec` backend and a float32
 * rank-3 x (the caller validates).
 */
export function fmInteractionTsrec(x: tf.Tensor): tf.Tensor2D {
  const run = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: tf.engine().runKernel(TSREC_FM_INTERACTION, { x: input }) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(TSREC_FM_INTERACTION_GRAD, { x: saved[0], dy }) as tf.Tensor,
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return run(x);
}

function asF32(v: ArrayLike<number>): Float32Array {
  return Object.prototype.toString.call(v) === '[object Float32Array]' ? (v as Float32Array) : Float32Array.from(v);
}

/**
 * The sigmoid BCE with logits kernel (same contract as @tsrec/models' `sigmoidBceKernel`: loss
 * Σ w·ℓ / Σ w returned, d_logits written, label smoothing y·(1 − s) + s/2, exact for any finite
 * logit) in native code. Labels/weights that are not Float32Arrays are converted.
 */
export function sigmoidBceKernelTsrec(
  logits: Float32Array,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  labelSmoothing: number,
  dLogits: Float32Array,
): number {
  const r = kernelAddon().tfjsSigmoidBce(
    asF32(logits),
    asF32(labels),
    weights ? asF32(weights) : null,
    labelSmoothing,
    dLogits,
  );
  if (r < 0) {
    const i = -r - 1;
    throw new RangeError(
      `Expected finite logits for sigmoid_bce_with_logits but received ${logits[i]} at index ${i} (sample ${i})`,
    );
  }
  return r;
}

/**
 * The float32 values of `t` for a synchronous reader, e.g. a gradient handed to the TBE backward.
 * On the `tsrec` backend this is the tensor's own backing array, not marked as escaped, so it
 * returns to the backend's output pool when `t` is disposed: the caller must not keep it (or
 * write to it) after that. Elsewhere (or for a non-Float32Array store) it is `t.dataSync()`.
 */
export function borrowFloat32(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new TypeError(`Expected a float32 tensor for borrowFloat32 but received ${t.dtype}`);
  const backend = tf.backend();
  if (backend instanceof TsrecMathBackend) {
    const v = backend.peekValues(t.dataId);
    if (v != null && Object.prototype.toString.call(v) === '[object Float32Array]') return v as Float32Array;
  }
  return t.dataSync() as Float32Array;
}

/**
 * A Float32Array of `length` for an array that will become a tensor's values (`tf.tensor(values)`),
 * reused from the `tsrec` backend's output pool when one is free (contents undefined). On `tsrec`
 * it is native, 64-byte aligned memory, which the TBE forward fills with streaming stores
 * (measured ~2–3 ms less per DeepFM step than a plain array: NOTES.md). Once the tensor (and every
 * tensor sharing its data) is disposed, the array returns to the pool; do not keep other
 * references to it. On other backends, a fresh array.
 */
export function outputFloat32(length: number): Float32Array {
  const backend = tf.backend();
  return backend instanceof TsrecMathBackend ? backend.takeF32(length, true) : new Float32Array(length);
}

/** Activations `denseTsrec` computes natively (others: use tf.fused.matMul). */
export const DENSE_TSREC_ACTIVATIONS: readonly string[] = ['linear', 'relu'];

/** Tensors marked as input data (`markInputData`): no gradient needs d/dx for them. */
const inputData = new WeakSet<tf.Tensor>();

/**
 * Marks t as input data, e.g. a batch's dense features: the dense ops below then skip its input
 * gradient (for DeepFM's first layer the [B, 13] dense block's dz·wᵀ, ~0.35 ms a step). Only
 * mark tensors that are no function of a trained variable and that no caller differentiates
 * with respect to (`tf.grad(f)(t)`): their gradient becomes a scalar 0, and tfjs rejects that
 * shape where the gradient is needed, so a wrong mark fails loudly.
 */
export function markInputData<T extends tf.Tensor>(t: T): T {
  inputData.add(t);
  return t;
}

function isInputData(t: tf.Tensor): boolean {
  return inputData.has(t) && !(t instanceof tf.Variable && t.trainable);
}

/**
 * y = act(x·w + bias) for x [M, K], w [K, N], bias [N] (optional), act linear or ReLU, as a
 * custom-gradient op for training on the `tsrec` backend: the forward is one _FusedMatMul
 * kernel (BLAS + bias + activation epilogue; tfjs's tf.fused.matMul falls back to three
 * unfused ops whenever a gradient is being recorded), the backward one native kernel (ReLU mask,
 * bias column sums and both GEMMs). The same float32 results as tf.fused.matMul's unfused path,
 * except the bias gradient, summed in double over fixed blocks of rows (it can differ by an ulp).
 * Needs the `tsrec` backend and float32 rank-2 inputs (the caller validates).
 */
export function denseTsrec(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  activation: 'linear' | 'relu',
): tf.Tensor2D {
  const noInputGrad = isInputData(x);
  const forward = (xs: tf.Tensor[], save: tf.GradSaveFunc) => {
    const [a, b, c] = xs;
    const y = tf.engine().runKernel(tf._FusedMatMul, c ? { a, b, bias: c } : { a, b }, {
      transposeA: false,
      transposeB: false,
      activation,
      leakyreluAlpha: 0.2,
    } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
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
 * `denseTsrec` over an input given as column blocks: y = act([x_0 | x_1 | …]·w + bias) for
 * xs[i] [M, K_i] and w [ΣK_i, N], without building the concatenated input (forward: one GEMM per
 * block accumulating into y, then the bias/ReLU epilogue; backward: the ReLU mask and bias sums
 * once, then per block dx_i = dz·w_iᵀ and dw_i = x_iᵀ·dz written in place). A feature group made
 * of the dense features and the pooled embeddings feeds the first MLP layer this way (no concat
 * forward, no split backward). Same maths as `denseTsrec` on the concatenation; the float sums
 * are grouped by block. Needs the `tsrec` backend; checks the shapes and dtypes itself (the kernel
 * trusts them).
 */
export function denseBlocksTsrec(
  xs: readonly tf.Tensor2D[],
  w: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  activation: 'linear' | 'relu',
): tf.Tensor2D {
  const n = xs.length;
  // The kernel trusts these shapes (native memory): check them here.
  if (n === 0) throw new RangeError('Expected at least one input block for denseBlocksTsrec but received none');
  if (w.rank !== 2 || w.dtype !== 'float32')
    throw new RangeError(
      `Expected a float32 [K, N] kernel for denseBlocksTsrec but received ${w.dtype} [${w.shape.join(', ')}]`,
    );
  const M = xs[0].shape[0];
  xs.forEach((x, i) => {
    if (x.rank !== 2 || x.dtype !== 'float32' || x.shape[0] !== M) {
      throw new RangeError(
        `Expected block ${i} of denseBlocksTsrec to be float32 [${M}, K_${i}] but received ${x.dtype} [${x.shape.join(', ')}]`,
      );
    }
  });
  const K = xs.reduce((k, x) => k + x.shape[1], 0);
  if (K !== w.shape[0])
    throw new RangeError(
      `Expected the blocks' widths to sum to the kernel's ${w.shape[0]} rows in denseBlocksTsrec but received ${K}`,
    );
  if (bias && (bias.rank !== 1 || bias.dtype !== 'float32' || bias.shape[0] !== w.shape[1])) {
    throw new RangeError(
      `Expected a float32 [${w.shape[1]}] bias for denseBlocksTsrec but received ${bias.dtype} [${bias.shape.join(', ')}]`,
    );
  }
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
