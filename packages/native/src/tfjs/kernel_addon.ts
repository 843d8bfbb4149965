import { addon } from '../addon';

/** Codes of tsrec::Activation (native/include/tsrec/activation.h). */
export const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  sigmoid: 3,
  elu: 4,
  leakyrelu: 5,
  prelu: 6,
};

/** Codes of tsrec::UnaryOp (native/include/tsrec/elementwise_kernels.h). */
export enum UnaryOpCode {
  Relu = 0,
  Relu6 = 1,
  Sigmoid = 2,
  Elu = 3,
  LeakyRelu = 4,
  Step = 5,
  Neg = 6,
  Square = 7,
  Exp = 8,
  Log = 9,
  Sqrt = 10,
  Abs = 11,
  Log1p = 12,
  Rsqrt = 13,
  Tanh = 14,
  Reciprocal = 15,
}

/** Codes of tsrec::BinaryOp. */
export enum BinaryOpCode {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Max = 4,
  Min = 5,
  SquaredDiff = 6,
  Prelu = 7,
}

/**
 * The addon's tfjs entry points (native/binding/tfjs_kernels_binding.cc). They only convert:
 * callers pass Float32Arrays of the right lengths and allocate the outputs.
 */
export interface TfjsKernelAddon {
  tfjsBatchMatMul(
    a: Float32Array, b: Float32Array, out: Float32Array, batchA: number, batchB: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, bias: Float32Array | null, activation: number, leakyAlpha: number, prelu: Float32Array | null,
  ): void;
  tfjsUnary(op: UnaryOpCode, x: Float32Array, y: Float32Array, alpha: number): void;
  tfjsBinary(op: BinaryOpCode, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array, outShape: number[]): boolean;
  tfjsSum(x: Float32Array, out: Float32Array, outer: number, reduce: number, inner: number): void;
  tfjsSlice(x: Float32Array, shape: number[], begin: number[], size: number[], out: Float32Array): void;
  tfjsConcat(xs: Float32Array[], inner: number[], outer: number, out: Float32Array): void;
  setBlasThreads(n: number): number;
}

/** The loaded addon as the tfjs kernels see it. */
export function kernelAddon(): TfjsKernelAddon {
  return addon() as unknown as TfjsKernelAddon;
}
