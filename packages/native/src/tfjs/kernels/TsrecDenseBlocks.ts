import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { allocF32, type TsrecBackend } from '../kernel_utils';
import { f32OrCopy } from './TsrecFmInteraction';

/**
 * Kernel names of a dense layer over an input given as column blocks (tsrec only; the op is
 * `denseBlocksTsrec`). Inputs `x0` … `x{n-1}` ([M, K_i], side by side the layer's [M, ΣK_i]
 * input), `w` [ΣK_i, N] and optionally `bias` [N]; attrs `activation` ('linear' | 'relu') and
 * `numBlocks`. The forward's output is y [M, N]; the gradient kernel takes the same blocks, `w`,
 * `y` and `dy` and returns dx_0 … dx_{n-1}, dw and, with `hasBias`, db; the blocks listed in the
 * attr `noGradBlocks` are input data: their dx is not computed and is returned as a scalar 0.
 */
export const TSREC_DENSE_BLOCKS = 'TsrecDenseBlocks';
export const TSREC_DENSE_BLOCKS_GRAD = 'TsrecDenseBlocksGrad';

type Inputs = Record<string, TensorInfo>;

function blocksOf(backend: TsrecBackend, inputs: Inputs, n: number): { xs: Float32Array[]; ks: number[] } {
  const xs: Float32Array[] = [];
  const ks: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = inputs[`x${i}`];
    xs.push(f32OrCopy(backend, x));
    ks.push(x.shape[1]);
  }
  return { xs, ks };
}

function denseBlocks(args: { inputs: Inputs; attrs: NamedAttrMap; backend: TsrecBackend }): TensorInfo {
  const { backend, inputs, attrs } = args;
  const n = attrs.numBlocks as number;
  const M = inputs.x0.shape[0];
  const N = inputs.w.shape[1];
  const { xs, ks } = blocksOf(backend, inputs, n);
  const y = allocF32(backend, M * N);
  const bias = inputs.bias ? f32OrCopy(backend, inputs.bias) : null;
  kernelAddon().tfjsDenseBlocksForward(
    xs,
    ks,
    f32OrCopy(backend, inputs.w),
    bias,
    attrs.activation === 'relu',
    M,
    N,
    y,
  );
  return backend.makeTensorInfo([M, N], 'float32', y);
}

function denseBlocksGrad(args: { inputs: Inputs; attrs: NamedAttrMap; backend: TsrecBackend }): TensorInfo[] {
  const { backend, inputs, attrs } = args;
  const n = attrs.numBlocks as number;
  const M = inputs.x0.shape[0];
  const N = inputs.w.shape[1];
  const relu = attrs.activation === 'relu';
  const { xs, ks } = blocksOf(backend, inputs, n);
  const skip = new Set((attrs.noGradBlocks as number[] | undefined) ?? []);
  const dxs = ks.map((k, i) => (skip.has(i) ? null : allocF32(backend, M * k)));
  const K = ks.reduce((a, b) => a + b, 0);
  const dw = allocF32(backend, K * N);
  const db = attrs.hasBias === true ? allocF32(backend, N) : null;
  kernelAddon().tfjsDenseBlocksBackward(
    xs,
    ks,
    f32OrCopy(backend, inputs.w),
    relu && inputs.y ? f32OrCopy(backend, inputs.y) : null,
    f32OrCopy(backend, inputs.dy),
    M,
    N,
    relu,
    dxs,
    dw,
    db,
  );
  const out = dxs.map((d, i) =>
    d ? backend.makeTensorInfo([M, ks[i]], 'float32', d) : backend.makeTensorInfo([], 'float32', new Float32Array(1)),
  );
  out.push(backend.makeTensorInfo([K, N], 'float32', dw));
  if (db) out.push(backend.makeTensorInfo([N], 'float32', db));
  return out;
}

/** KernelConfigs of the native block dense layer and its gradient. */
export const denseBlocksConfig: KernelConfig = {
  kernelName: TSREC_DENSE_BLOCKS,
  backendName: 'tsrec',
  kernelFunc: denseBlocks as unknown as KernelFunc,
};
export const denseBlocksGradConfig: KernelConfig = {
  kernelName: TSREC_DENSE_BLOCKS_GRAD,
  backendName: 'tsrec',
  kernelFunc: denseBlocksGrad as unknown as KernelFunc,
};
