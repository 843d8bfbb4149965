import type * as tf from '@tensorflow/tfjs-core';

import { float32Output, hostFloat32, type ReferenceKernel } from '../../ops/kernels/reference_kernel';
import { checkFinite } from '../finite_check';

/**
 * The reference kernel of a fused loss (contract: @tsrec/native kernel_names.ts): reads the logits
 * on the host, reports a non-finite one as `op`'s error (`width` logits a sample), then `loss`
 * fills d_logits and returns the loss; outputs the loss as a float32 scalar and d_logits.
 */
export function fusedLossReferenceKernel<A>(
  kernelName: string,
  op: string,
  width: (logits: tf.TensorInfo) => number,
  loss: (logits: Float32Array, attrs: A, dLogits: Float32Array, shape: number[]) => number,
): ReferenceKernel {
  const kernelFunc = (args: { inputs: { logits: tf.TensorInfo }; attrs: A; backend: tf.KernelBackend }) => {
    const { backend } = args;
    const logits = args.inputs.logits;
    const values = hostFloat32(backend, logits);
    checkFinite(op, 'logits', values, width(logits));
    const d = new Float32Array(values.length);
    const value = loss(values, args.attrs, d, logits.shape);
    return [float32Output(backend, [], Float32Array.of(value)), float32Output(backend, logits.shape, d)];
  };
  return { kernelName, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
