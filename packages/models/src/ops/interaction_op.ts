import * as tf from '@tensorflow/tfjs-core';

import type { InteractionKernel } from './interaction_kernels';

/**
 * Runs an interaction kernel over x [B, N, D] as a tfjs op with a custom gradient (the
 * backward kernel reads the saved input). `outWidth` is the output's columns per sample.
 */
export function interactionOp(
  op: string,
  x: tf.Tensor,
  outWidth: (N: number, D: number) => number,
  kernel: () => InteractionKernel,
): tf.Tensor2D {
  checkInteractionInput(op, x);
  const [B, N, D] = x.shape as [number, number, number];
  const W = outWidth(N, D);
  const run = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const xs = input.dataSync() as Float32Array;
    const out = new Float32Array(B * W);
    kernel().forward(xs, B, N, D, out);
    save([input]);
    return {
      value: tf.tensor2d(out, [B, W], 'float32'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dx = new Float32Array(B * N * D);
        kernel().backward(saved[0].dataSync() as Float32Array, dy.dataSync() as Float32Array, B, N, D, dx);
        return tf.tensor3d(dx, [B, N, D], 'float32');
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return run(x);
}

/** Throws unless x is a float32 tensor of shape [B, N, D]. */
export function checkInteractionInput(op: string, x: tf.Tensor): void {
  if (!(x instanceof tf.Tensor) || x.rank !== 3) {
    throw new RangeError(
      `Expected a tensor of shape [B, N, D] for x of ${op} but received ${x instanceof tf.Tensor ? `[${x.shape.join(', ')}]` : typeof x}`,
    );
  }
  if (x.dtype !== 'float32') throw new TypeError(`Expected float32 x for ${op} but received ${x.dtype}`);
}
