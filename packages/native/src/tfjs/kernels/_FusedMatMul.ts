import {
  _FusedMatMul,
  type _FusedMatMulAttrs,
  type _FusedMatMulInputs,
  broadcast_util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

import { ACTIVATION_CODES, kernelAddon } from '../kernel_addon';
import { allocF32, cpuKernel, f32Values, type TsrecBackend } from '../kernel_utils';
import { matMulGeometry } from './BatchMatMul';

const cpuFusedMatMul = cpuKernel(_FusedMatMul);

/**
 * Whether `t` (bias or prelu weights) broadcasts onto [..., m, n] as one value per column (or one
 * scalar) without growing the output: then the native epilogue applies it row by row.
 */
function isRowBroadcast(t: TensorInfo, outShape: number[], n: number): boolean {
  const size = util.sizeFromShape(t.shape);
  if (size !== 1 && !(size === n && t.shape[t.shape.length - 1] === n)) return false;
  const full = broadcast_util.assertAndGetBroadcastShape(outShape, t.shape);
  return util.arraysEqual(full, outShape);
}

/**
 * _FusedMatMul (matmul + bias + activation): one native call for float32 with a per-column or
 * scalar bias/prelu and any tfjs activation; everything else uses the cpu kernel.
 */
export function fusedMatMul(args: {
  inputs: _FusedMatMulInputs;
  attrs: _FusedMatMulAttrs;
  backend: TsrecBackend;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const bias = inputs.bias as TensorInfo | undefined;
  const prelu = inputs.preluActivationWeights as TensorInfo | undefined;
  const activation = attrs.activation ?? 'linear';
  const act = ACTIVATION_CODES[activation];
  const av = f32Values(backend, a);
  const bv = f32Values(backend, b);
  const biasV = bias ? f32Values(backend, bias) : null;
  const preluV = prelu ? f32Values(backend, prelu) : null;
  const fallback = () => cpuFusedMatMul(args as never) as TensorInfo;
  if (!av || !bv || act === undefined || (bias && !biasV)) return fallback();
  if (activation === 'prelu' && !preluV) return fallback();
  const g = matMulGeometry(a, b, attrs.transposeA, attrs.transposeB);
  if (!g) return fallback();
  if (bias && !isRowBroadcast(bias, g.outShape, g.n)) return fallback();
  if (activation === 'prelu' && !isRowBroadcast(prelu as TensorInfo, g.outShape, g.n)) return fallback();
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
    biasV,
    act,
    attrs.leakyreluAlpha ?? 0.2,
    activation === 'prelu' ? preluV : null,
  );
  return backend.makeTensorInfo(g.outShape, 'float32', out);
}

/** KernelConfig of the native _FusedMatMul. */
export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: 'tsrec',
  kernelFunc: fusedMatMul as unknown as KernelFunc,
};
