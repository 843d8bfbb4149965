import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  SplitV,
  type SplitVAttrs,
  type SplitVInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

import { f32Values, type TsrecBackend, cpuKernel } from '../kernel_utils';
import { slice } from './Slice';

const cpuSplitV = cpuKernel(SplitV);

/** SplitV (also the gradient of Concat) as native slices for float32, as the cpu kernel does it with its slice. */
export function splitV(args: { inputs: SplitVInputs; attrs: SplitVAttrs; backend: TsrecBackend }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  if (!f32Values(backend, x)) return cpuSplitV(args as never) as TensorInfo[];
  const $axis = util.parseAxisParam(attrs.axis, x.shape)[0];
  const splitSizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const size = x.shape.slice();
  return splitSizes.map((s) => {
    const sliceSize = [...size];
    sliceSize[$axis] = s;
    const part = slice({ inputs: { x }, backend, attrs: { begin, size: sliceSize } });
    begin[$axis] += s;
    return part;
  });
}

/** KernelConfig of the native SplitV. */
export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'tsrec',
  kernelFunc: splitV as unknown as KernelFunc,
};
