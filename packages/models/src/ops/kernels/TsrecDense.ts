import * as tf from '@tensorflow/tfjs-core';
import { TSREC_DENSE } from '@tsrec/native';

import { type ReferenceKernel, runBackendKernel } from './reference_kernel';

/**
 * act(x·w + bias) for 2-D x [M, K] and w [K, N] as tf.fused.matMul computes it: the backend's
 * _FusedMatMul on [1, M, K]·[1, K, N] (3-D, as some backends require), reshaped to [M, N]. The
 * caller owns the result.
 */
export function denseForward(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  activation: string,
): tf.TensorInfo {
  const [M, K] = x.shape as [number, number];
  const N = w.shape[1] as number;
  const reshape = (t: tf.TensorInfo, shape: number[]) =>
    runBackendKernel(tf.Reshape, { x: t }, backend, { shape }) as tf.TensorInfo;
  const a = reshape(x, [1, M, K]);
  const b = reshape(w, [1, K, N]);
  const y3 = runBackendKernel(tf._FusedMatMul, bias ? { a, b, bias } : { a, b }, backend, {
    transposeA: false,
    transposeB: false,
    activation,
    leakyreluAlpha: 0.2,
  }) as tf.TensorInfo;
  const y = reshape(y3, [M, N]);
  for (const t of [a, b, y3]) backend.disposeData(t.dataId);
  return y;
}

function dense(args: {
  inputs: { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
  attrs: tf.NamedAttrMap;
  backend: tf.KernelBackend;
}): tf.TensorInfo {
  const { x, w, bias } = args.inputs;
  return denseForward(args.backend, x, w, bias, args.attrs.activation as string);
}

/** The reference kernel of TsrecDense (contract: @tsrec/native kernel_names.ts), from the backend's kernels. */
export const denseReferenceKernel: ReferenceKernel = {
  kernelName: TSREC_DENSE,
  kernelFunc: dense as unknown as tf.KernelFunc,
};
