import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  Sum,
  type SumAttrs,
  type SumInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend } from '../kernel_utils';

const cpuSum = cpuKernel(Sum);

/**
 * Sum over one contiguous run of axes of a float32 tensor, natively and without the cpu kernel's
 * transpose ([outer, reduce, inner] form). Other dtypes and scattered axes use the cpu kernel.
 */
export function sum(args: { inputs: SumInputs; attrs: SumAttrs; backend: TsrecBackend }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const xv = f32Values(backend, x);
  if (!xv) return cpuSum(args as never) as TensorInfo;
  const axes = util
    .parseAxisParam(attrs.axis, x.shape)
    .slice()
    .sort((p, q) => p - q);
  if (axes.length === 0) return cpuSum(args as never) as TensorInfo;
  for (let i = 1; i < axes.length; ++i) if (axes[i] !== axes[i - 1] + 1) return cpuSum(args as never) as TensorInfo;
  const first = axes[0];
  const last = axes[axes.length - 1];
  const outer = util.sizeFromShape(x.shape.slice(0, first));
  const reduce = util.sizeFromShape(x.shape.slice(first, last + 1));
  const inner = util.sizeFromShape(x.shape.slice(last + 1));
  let outShape = x.shape.filter((_, d) => d < first || d > last);
  if (attrs.keepDims) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
  const out = allocF32(backend, outer * inner);
  kernelAddon().tfjsSum(xv, out, outer, reduce, inner);
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** KernelConfig of the native Sum. */
export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'tsrec',
  kernelFunc: sum as unknown as KernelFunc,
};
