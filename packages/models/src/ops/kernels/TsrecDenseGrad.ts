import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_DENSE_GRAD } from '@tsrec/native';

import { denseGradParts, zeroGrad } from './dense_grad_parts';
import type { ReferenceKernel } from './reference_kernel';

function denseGrad(args: {
  inputs: { x: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo; y?: tf.TensorInfo };
  attrs: tf.NamedAttrMap;
  backend: tf.KernelBackend;
}): tf.TensorInfo[] {
  const { inputs, attrs, backend } = args;
  const { dx, dw, db } = denseGradParts(
    backend,
    inputs.x,
    inputs.w,
    inputs.y,
    inputs.dy,
    attrs.activation === 'relu',
    attrs.hasBias === true,
    attrs.noInputGrad !== true,
  );
  return db ? [dx ?? zeroGrad(backend), dw, db] : [dx ?? zeroGrad(backend), dw];
}

/** The reference kernel of TsrecDenseGrad (contract: @tsrec/native kernel_names.ts), from the backend's kernels. */
export const denseGradReferenceKernel: ReferenceKernel = {
  kernelName: TSREC_DENSE_GRAD,
  kernelFunc: denseGrad as unknown as tf.KernelFunc,
};
