import {
  backend_util,
  Concat,
  type ConcatAttrs,
  type ConcatInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend } from '../kernel_utils';

const cpuConcat = cpuKernel(Concat);

/**
 * Concat of float32 tensors natively: each input is viewed as [outer, inner_i] (the cpu kernel's
 * 2-D reduction) and rows are copied in one call. Other dtypes and empty cases use the cpu kernel.
 */
export function concat(args: { inputs: ConcatInputs; attrs: ConcatAttrs; backend: TsrecBackend }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const list = inputs as unknown as TensorInfo[];
  const values = list.map((t) => f32Values(backend, t));
  if (list.length < 2 || values.some((v) => !v)) return cpuConcat(args as never) as TensorInfo;
  const $axis = util.parseAxisParam(attrs.axis, list[0].shape)[0];
  const shapes = list.map((t) => t.shape);
  backend_util.assertParamsConsistent(shapes, $axis);
  const outShape = backend_util.computeOutShape(shapes, $axis);
  const size = util.sizeFromShape(outShape);
  if (size === 0) return cpuConcat(args as never) as TensorInfo;
  const outer = util.sizeFromShape(outShape.slice(0, $axis));
  const out = allocF32(backend, size);
  kernelAddon().tfjsConcat(
    values as Float32Array[],
    shapes.map((s) => util.sizeFromShape(s.slice($axis))),
    outer,
    out,
  );
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** KernelConfig of the native Concat. */
export const concatConfig: KernelConfig = {
  kernelName: Concat,
  backendName: 'tsrec',
  kernelFunc: concat as unknown as KernelFunc,
};
