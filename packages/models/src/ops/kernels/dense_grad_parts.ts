import * as tf from '@tensorflow/tfjs-core';

import { runBackendKernel } from './reference_kernel';

/** The gradients of y = act(x·w + bias) for act linear or ReLU, as backend tensor infos. */
export interface DenseGradParts {
  dx: tf.TensorInfo | null;
  dw: tf.TensorInfo;
  db: tf.TensorInfo | null;
}

/**
 * The dense layer's backward from the backend's own kernels, exactly as tfjs differentiates
 * tf.fused.matMul (matMul + add + relu while training): dz = dy ⊙ step(y) for ReLU (step(y) =
 * step(x·w + bias)), else dy; dx = dz·wᵀ (skipped when `needDx` is false), dw = xᵀ·dz and
 * db = Σ_rows dz. The caller owns the results.
 */
export function denseGradParts(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  y: tf.TensorInfo | undefined,
  dy: tf.TensorInfo,
  relu: boolean,
  hasBias: boolean,
  needDx: boolean,
): DenseGradParts {
  let dz = dy;
  let mask: tf.TensorInfo | null = null;
  if (relu) {
    if (!y) throw new Error('Expected y (the forward output) for the ReLU dense gradient but received none');
    mask = runBackendKernel(tf.Step, { x: y }, backend, { alpha: 0 }) as tf.TensorInfo;
    dz = runBackendKernel(tf.Multiply, { a: dy, b: mask }, backend) as tf.TensorInfo;
  }
  const dx = needDx
    ? (runBackendKernel(tf.BatchMatMul, { a: dz, b: w }, backend, {
        transposeA: false,
        transposeB: true,
      }) as tf.TensorInfo)
    : null;
  const dw = runBackendKernel(tf.BatchMatMul, { a: x, b: dz }, backend, {
    transposeA: true,
    transposeB: false,
  }) as tf.TensorInfo;
  const db = hasBias
    ? (runBackendKernel(tf.Sum, { x: dz }, backend, { axis: [0], keepDims: false }) as tf.TensorInfo)
    : null;
  if (mask) {
    backend.disposeData(mask.dataId);
    backend.disposeData(dz.dataId);
  }
  return { dx, dw, db };
}

/** A float32 scalar 0: the gradient the dense kernels return for input data (`markInputData`). */
export function zeroGrad(backend: tf.KernelBackend): tf.TensorInfo {
  return { dataId: backend.write(new Float32Array(1), [], 'float32'), shape: [], dtype: 'float32' };
}
