import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo, type TypedArray } from '@tensorflow/tfjs-core';
// Registers the cpu backend and its kernels: tsrec copies them and falls back to them.
import '@tensorflow/tfjs-backend-cpu';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** The `tsrec` backend keeps the cpu backend's storage, so kernels receive a MathBackendCPU. */
export type TsrecBackend = MathBackendCPU;

/**
 * The cpu backend's kernel function for `kernelName`: tsrec falls back to it for every dtype or
 * shape it does not compute natively, so results never differ from stock tfjs.
 */
export function cpuKernel(kernelName: string): KernelFunc {
  const config = getKernel(kernelName, 'cpu');
  if (!config)
    throw new Error(
      `Expected the tfjs cpu kernel ${kernelName} to be registered (import @tensorflow/tfjs-backend-cpu first)`,
    );
  return config.kernelFunc;
}

/** The float32 values of `t`, or null when `t` is not a float32 tensor backed by a Float32Array. */
export function f32Values(backend: TsrecBackend, t: TensorInfo | undefined): Float32Array | null {
  if (t?.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values as TypedArray | undefined;
  // Tag check, not instanceof: arrays from another realm (jest, the addon) are still Float32Arrays.
  return v != null && Object.prototype.toString.call(v) === '[object Float32Array]' ? (v as Float32Array) : null;
}

/**
 * A Float32Array of `length` for a native kernel's output: from the backend's pool when it has one
 * (TsrecMathBackend.takeF32; contents undefined, so the kernel must write every element), else fresh.
 */
export function allocF32(backend: TsrecBackend, length: number): Float32Array {
  const take = (backend as unknown as { takeF32?: (n: number) => Float32Array }).takeF32;
  return take ? take.call(backend, length) : new Float32Array(length);
}

/** A KernelConfig for the `tsrec` backend. */
export function tsrecKernel(kernelName: string, kernelFunc: KernelFunc): KernelConfig {
  return { kernelName, backendName: 'tsrec', kernelFunc };
}
