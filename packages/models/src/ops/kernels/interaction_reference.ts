import type * as tf from '@tensorflow/tfjs-core';

import { float32Output, hostFloat32, type ReferenceKernel } from './reference_kernel';

/** Forward/backward loops of an interaction over x [B, N, D]. */
export interface InteractionKernel {
  forward(x: Float32Array, B: number, N: number, D: number, out: Float32Array): void;
  backward(x: Float32Array, dOut: Float32Array, B: number, N: number, D: number, dx: Float32Array): void;
}

/**
 * The reference kernels of an interaction: `kernelName` (input x [B, N, D] → [B, outWidth(N, D)])
 * and `gradName` (inputs x and dy → dx [B, N, D]), running `loops` on the host.
 */
export function interactionReferenceKernels(
  kernelName: string,
  gradName: string,
  loops: InteractionKernel,
  outWidth: (N: number, D: number) => number,
): ReferenceKernel[] {
  const forward = (args: { inputs: { x: tf.TensorInfo }; backend: tf.KernelBackend }) => {
    const { backend } = args;
    const x = args.inputs.x;
    const [B, N, D] = x.shape as [number, number, number];
    const out = new Float32Array(B * outWidth(N, D));
    loops.forward(hostFloat32(backend, x), B, N, D, out);
    return float32Output(backend, [B, outWidth(N, D)], out);
  };
  const backward = (args: { inputs: { x: tf.TensorInfo; dy: tf.TensorInfo }; backend: tf.KernelBackend }) => {
    const { backend } = args;
    const { x, dy } = args.inputs;
    const [B, N, D] = x.shape as [number, number, number];
    const dx = new Float32Array(B * N * D);
    loops.backward(hostFloat32(backend, x), hostFloat32(backend, dy), B, N, D, dx);
    return float32Output(backend, [B, N, D], dx);
  };
  return [
    { kernelName, kernelFunc: forward as unknown as tf.KernelFunc },
    { kernelName: gradName, kernelFunc: backward as unknown as tf.KernelFunc },
  ];
}
