import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';

import { type BinaryOpCode, kernelAddon } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend, tsrecKernel } from '../kernel_utils';

/** `shape` left-padded with 1s to `rank` dims (numpy broadcasting aligns trailing dims). */
function padShape(shape: number[], rank: number): number[] {
  return new Array<number>(rank - shape.length).fill(1).concat(shape);
}

/** Computes op(a, b) natively for two float32 inputs (broadcast); returns null when it cannot. */
export function nativeBinary(backend: TsrecBackend, op: BinaryOpCode, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  const av = f32Values(backend, a);
  const bv = f32Values(backend, b);
  if (!av || !bv) return null;
  const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const rank = outShape.length;
  if (rank > 8) return null;
  const out = allocF32(backend, util.sizeFromShape(outShape));
  if (!kernelAddon().tfjsBinary(op, av, padShape(a.shape, rank), bv, padShape(b.shape, rank), out, outShape))
    return null;
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/**
 * A binary kernel computed natively for float32 inputs (any broadcast); other dtypes (int32,
 * bool, complex64, string) go to the cpu kernel. `inputNames` are the kernel's input names.
 */
export function binaryKernel(
  kernelName: string,
  op: BinaryOpCode,
  inputNames: [string, string] = ['a', 'b'],
): KernelConfig {
  const cpu = cpuKernel(kernelName);
  const kernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: TsrecBackend }): TensorInfo => {
    const res = nativeBinary(args.backend, op, args.inputs[inputNames[0]], args.inputs[inputNames[1]]);
    return res ?? (cpu(args as never) as TensorInfo);
  };
  return tsrecKernel(kernelName, kernelFunc as unknown as KernelFunc);
}
