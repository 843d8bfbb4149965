import * as tf from '@tensorflow/tfjs-core';

import { TsrecMathBackend } from './backend';

/**
 * Helpers for tsrec's fused ops: zero-copy reads and pooled outputs on the `tsrec` backend, and the
 * input-data marks the dense kernels read. The fused ops themselves (@tsrec/models) run their
 * kernels by name (kernel_names.ts); each backend registers its own.
 */

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

/** Tensors marked as input data (`markInputData`): no gradient needs d/dx for them. */
const inputData = new WeakSet<tf.Tensor>();

/**
 * Marks t as input data, e.g. a batch's dense features: the dense kernels then skip its input
 * gradient (for DeepFM's first layer the [B, 13] dense block's dz·wᵀ, ~0.35 ms a step). Only
 * mark tensors that are no function of a trained variable and that no caller differentiates
 * with respect to (`tf.grad(f)(t)`): their gradient becomes a scalar 0, and tfjs rejects that
 * shape where the gradient is needed, so a wrong mark fails loudly.
 */
export function markInputData<T extends tf.Tensor>(t: T): T {
  inputData.add(t);
  return t;
}

/**
 * Whether t was marked as input data (`markInputData`) and is no trainable variable: the dense
 * backward kernels skip its gradient (attrs `noInputGrad`, `noGradBlocks`).
 */
export function isInputData(t: tf.Tensor): boolean {
  return inputData.has(t) && !(t instanceof tf.Variable && t.trainable);
}
