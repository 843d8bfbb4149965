import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { TSREC_BACKEND_NAME } from '@tsrec/native';

/**
 * A TS reference kernel of one of tsrec's fused-op kernels (@tsrec/native kernel_names.ts): it runs
 * on any backend, reading its inputs on the host and writing its outputs with `backend.write`.
 */
export interface ReferenceKernel {
  kernelName: string;
  kernelFunc: tf.KernelFunc;
}

/**
 * The backends the reference kernels are registered for: those `selectBackend` can pick. On
 * `tsrec` only under the names that have no native kernel (register_all_kernels.ts there).
 */
export const REFERENCE_KERNEL_BACKENDS: readonly string[] = ['cpu', TSREC_BACKEND_NAME, 'wasm', 'tensorflow'];

/**
 * Registers each kernel for every backend in REFERENCE_KERNEL_BACKENDS that has no kernel of that
 * name yet (so a native kernel is never replaced; calling twice is harmless).
 */
export function registerReferenceKernels(kernels: readonly ReferenceKernel[]): void {
  for (const backendName of REFERENCE_KERNEL_BACKENDS) {
    for (const { kernelName, kernelFunc } of kernels) {
      if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

/**
 * The float32 values of t on the host: on the cpu backend and its subclass `tsrec`, the tensor's
 * own array (as the cpu kernels read it: no copy, and on `tsrec` not marked as escaped from the
 * output pool); elsewhere `readSync`. Converted when the store is not a Float32Array.
 */
export function hostFloat32(backend: tf.KernelBackend, t: tf.TensorInfo): Float32Array {
  const values = backend instanceof MathBackendCPU ? backend.data.get(t.dataId).values : backend.readSync(t.dataId);
  return Object.prototype.toString.call(values) === '[object Float32Array]'
    ? (values as Float32Array)
    : Float32Array.from(values as ArrayLike<number>);
}

/** A float32 output of `shape` holding `values` (the array itself on cpu-like backends). */
export function float32Output(backend: tf.KernelBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

/**
 * Runs the active backend's kernel `kernelName` inside another kernel (no tape, no engine
 * bookkeeping), as backend kernels call one another; the caller disposes what it does not return.
 */
export function runBackendKernel(
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  backend: tf.KernelBackend,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo | tf.TensorInfo[] {
  const backendName = tf.engine().backendName;
  const kernel = tf.getKernel(kernelName, backendName);
  if (!kernel) {
    throw new Error(
      `Expected the ${backendName} backend to register the kernel ${kernelName} (a tsrec reference kernel composes it) but it does not`,
    );
  }
  return kernel.kernelFunc({ inputs, attrs, backend });
}
