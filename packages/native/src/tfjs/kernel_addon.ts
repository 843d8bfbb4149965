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
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    bias: Float32Array | null,
    activation: number,
    leakyAlpha: number,
    prelu: Float32Array | null,
  ): void;
  tfjsUnary(op: UnaryOpCode, x: Float32Array, y: Float32Array, alpha: number): void;
  tfjsBinary(
    op: BinaryOpCode,
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array,
    outShape: number[],
  ): boolean;
  tfjsSum(x: Float32Array, out: Float32Array, outer: number, reduce: number, inner: number): void;
  tfjsSlice(x: Float32Array, shape: number[], begin: number[], size: number[], out: Float32Array): void;
  tfjsConcat(xs: Float32Array[], inner: number[], outer: number, out: Float32Array): void;
  /** FM interaction of x [B, N, D] into out [B, D] (native/include/tsrec/fused_kernels.h). */
  tfjsFmForward(x: Float32Array, B: number, N: number, D: number, out: Float32Array): void;
  /** dx [B, N, D] of the FM interaction given dy [B, D]. */
  tfjsFmBackward(x: Float32Array, dy: Float32Array, B: number, N: number, D: number, dx: Float32Array): void;
  /** Sigmoid BCE with logits: returns the loss, or -(i + 1) when logits[i] is the first non-finite one. */
  tfjsSigmoidBce(
    logits: Float32Array,
    labels: Float32Array,
    weights: Float32Array | null,
    labelSmoothing: number,
    dLogits: Float32Array,
  ): number;
  /** One Adam step; constants are [beta1, 1-beta1, beta2, 1-beta2, 1-accBeta1, 1-accBeta2, -lr, eps]. */
  tfjsAdam(
    value: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    valueOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    constants: number[],
  ): void;
  /** dx = y > 0 ? dy : 0 (tfjs's mul(dy, step(y))). */
  tfjsReluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array): void;
  /** out[j] = Σ_r x[r, j] of a [rows, cols] matrix. */
  tfjsColumnSum(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /** Backward of y = act(x·w + b), act linear or ReLU (mask from y): dx [M, K], dw [K, N], db [N] (or null). */
  tfjsDenseBackward(
    x: Float32Array,
    w: Float32Array,
    y: Float32Array | null,
    dy: Float32Array,
    M: number,
    K: number,
    N: number,
    relu: boolean,
    dx: Float32Array | null,
    dw: Float32Array,
    db: Float32Array | null,
  ): void;
  /** y = act(Σ_i xs[i]·w[rows of block i] + bias) for xs[i] [M, ks[i]] (the column blocks of the input), act linear or ReLU. */
  tfjsDenseBlocksForward(
    xs: Float32Array[],
    ks: number[],
    w: Float32Array,
    bias: Float32Array | null,
    relu: boolean,
    M: number,
    N: number,
    y: Float32Array,
  ): void;
  /** Backward of tfjsDenseBlocksForward: dxs[i] [M, ks[i]] (null: not computed), dw [ΣK, N], db [N] (or null). */
  tfjsDenseBlocksBackward(
    xs: Float32Array[],
    ks: number[],
    w: Float32Array,
    y: Float32Array | null,
    dy: Float32Array,
    M: number,
    N: number,
    relu: boolean,
    dxs: (Float32Array | null)[],
    dw: Float32Array,
    db: Float32Array | null,
  ): void;
  setBlasThreads(n: number): number;
}

/** The loaded addon as the tfjs kernels see it. */
export function kernelAddon(): TfjsKernelAddon {
  return addon() as unknown as TfjsKernelAddon;
}
