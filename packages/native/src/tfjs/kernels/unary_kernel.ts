import { type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo, util } from '@tensorflow/tfjs-core';

import { kernelAddon, type UnaryOpCode } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend, tsrecKernel } from '../kernel_utils';

/**
 * A unary float32 kernel computed natively; any other dtype goes to the cpu kernel. `alphaAttr`
 * names the attribute passed as alpha (Step's and LeakyRelu's `alpha`).
 */
export function unaryKernel(kernelName: string, op: UnaryOpCode, alphaAttr?: string): KernelConfig {
  const cpu = cpuKernel(kernelName);
  const kernelFunc = (args: {
    inputs: { x?: TensorInfo };
    attrs?: NamedAttrMap;
    backend: TsrecBackend;
  }): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const xs = f32Values(args.backend, x);
    if (!xs) return cpu(args as never) as TensorInfo;
    const out = allocF32(args.backend, util.sizeFromShape(x.shape));
    const alpha = alphaAttr ? Number(args.attrs?.[alphaAttr] ?? 0) : 0;
    kernelAddon().tfjsUnary(op, xs, out, alpha);
    return args.backend.makeTensorInfo(x.shape, 'float32', out);
  };
  return tsrecKernel(kernelName, kernelFunc as unknown as KernelFunc);
}
