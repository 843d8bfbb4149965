import * as tf from '@tensorflow/tfjs-core';

import './kernels/register_all_kernels';

/**
 * Runs the interaction kernel `kernelName` over x [B, N, D] (validated here) on the active
 * backend; its gradient is the kernel's GradConfig (@tsrec/native gradients/).
 */
export function interactionOp(op: string, kernelName: string, x: tf.Tensor): tf.Tensor2D {
  checkInteractionInput(op, x);
  return tf.engine().runKernel(kernelName, { x }) as tf.Tensor2D;
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
