import {
  type KernelConfig,
  type KernelFunc,
  Slice,
  slice_util,
  type SliceAttrs,
  type SliceInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend } from '../kernel_utils';

const cpuSlice = cpuKernel(Slice);

/**
 * Slice: a strided float32 box natively as row copies (the cpu kernel computes an index per
 * element). Contiguous slices (a zero-copy subarray in the cpu kernel) and other dtypes use the cpu kernel.
 */
export function slice(args: { inputs: SliceInputs; attrs: SliceAttrs; backend: TsrecBackend }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const xv = f32Values(backend, x);
  if (!xv) return cpuSlice(args as never) as TensorInfo;
  const [$begin, $size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x, $begin, $size);
  if (slice_util.isSliceContinous(x.shape, $begin, $size)) return cpuSlice(args as never) as TensorInfo;
  const out = allocF32(backend, util.sizeFromShape($size));
  kernelAddon().tfjsSlice(xv, x.shape, $begin, $size, out);
  return backend.makeTensorInfo($size, 'float32', out);
}

/** KernelConfig of the native Slice. */
export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'tsrec',
  kernelFunc: slice as unknown as KernelFunc,
};
