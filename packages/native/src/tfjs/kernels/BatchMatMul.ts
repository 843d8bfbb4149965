import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type BatchMatMulInputs,
  broadcast_util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend } from '../kernel_utils';

/** Shapes of a (possibly batched, possibly transposed) matmul, as tfjs's cpu kernel derives them. */
export interface MatMulGeometry {
  batchA: number;
  batchB: number;
  m: number;
  n: number;
  k: number;
  outShape: number[];
}

/**
 * Validates like tfjs's cpu BatchMatMul (same messages) and returns the geometry, or null when the
 * batch dims broadcast in a way the native kernel does not take (neither equal nor one of them 1).
 */
export function matMulGeometry(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): MatMulGeometry | null {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const innerShapeA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const innerShapeB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const outerShapeA = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const outerShapeB = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const outShapeOuterDims = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = outShapeOuterDims.concat([outerShapeA, outerShapeB]);
  util.assert(
    innerShapeA === innerShapeB,
    () =>
      `Error in matMul: inner shapes (${innerShapeA}) and (` +
      `${innerShapeB}) of Tensors with shapes ${a.shape} and ` +
      `${b.shape} and transposeA=${transposeA}` +
      ` and transposeB=${transposeB} must match.`,
  );
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  if (util.sizeFromShape(outShape) !== Math.max(batchA, batchB) * outerShapeA * outerShapeB) return null;
  return { batchA, batchB, m: outerShapeA, n: outerShapeB, k: innerShapeA, outShape };
}

const cpuBatchMatMul = cpuKernel(BatchMatMul);

/** BatchMatMul: float32 through BLAS (OpenBLAS sgemm); other dtypes and odd batch broadcasts use the cpu kernel. */
export function batchMatMul(args: {
  inputs: BatchMatMulInputs;
  attrs: BatchMatMulAttrs;
  backend: TsrecBackend;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const av = f32Values(backend, a);
  const bv = f32Values(backend, b);
  if (!av || !bv) return cpuBatchMatMul(args as never) as TensorInfo;
  const g = matMulGeometry(a, b, attrs.transposeA, attrs.transposeB);
  if (!g) return cpuBatchMatMul(args as never) as TensorInfo;
  const out = allocF32(backend, util.sizeFromShape(g.outShape));
  kernelAddon().tfjsBatchMatMul(
    av,
    bv,
    out,
    g.batchA,
    g.batchB,
    g.m,
    g.n,
    g.k,
    attrs.transposeA,
    attrs.transposeB,
    null,
    0,
    0,
    null,
  );
  return backend.makeTensorInfo(g.outShape, 'float32', out);
}

/** KernelConfig of the native BatchMatMul. */
export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'tsrec',
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
