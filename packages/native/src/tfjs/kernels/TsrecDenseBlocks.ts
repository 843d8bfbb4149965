import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { TSREC_DENSE_BLOCKS, TSREC_DENSE_BLOCKS_GRAD } from '../kernel_names';
import { allocF32, type TsrecBackend } from '../kernel_utils';
import { f32OrCopy } from './TsrecFmInteraction';

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

/**
 * Throws unless the blocks, `w` and `bias` are float32 with consistent shapes: the native kernel
 * reads raw memory at the sizes the shapes give.
 */
function checkBlocks(inputs: Inputs, n: number): void {
  const op = TSREC_DENSE_BLOCKS;
  if (!(n >= 1)) throw new RangeError(`Expected at least one input block for ${op} but received none`);
  const w = inputs.w;
  if (w?.shape.length !== 2 || w.dtype !== 'float32')
    throw new RangeError(
      `Expected a float32 [K, N] kernel for ${op} but received ${w?.dtype} [${w?.shape.join(', ') ?? ''}]`,
    );
  const M = inputs.x0?.shape[0];
  let K = 0;
  for (let i = 0; i < n; i++) {
    const x = inputs[`x${i}`];
    if (x?.shape.length !== 2 || x.dtype !== 'float32' || x.shape[0] !== M) {
      throw new RangeError(
        `Expected block ${i} of ${op} to be float32 [${M}, K_${i}] but received ${x?.dtype} [${x?.shape.join(', ') ?? ''}]`,
      );
    }
    K += x.shape[1];
  }
  if (K !== w.shape[0])
    throw new RangeError(
      `Expected the blocks' widths to sum to the kernel's ${w.shape[0]} rows in ${op} but received ${K}`,
    );
  const bias = inputs.bias;
  if (bias && (bias.shape.length !== 1 || bias.dtype !== 'float32' || bias.shape[0] !== w.shape[1])) {
    throw new RangeError(
      `Expected a float32 [${w.shape[1]}] bias for ${op} but received ${bias.dtype} [${bias.shape.join(', ')}]`,
    );
  }
}

function denseBlocks(args: { inputs: Inputs; attrs: NamedAttrMap; backend: TsrecBackend }): TensorInfo {
  const { backend, inputs, attrs } = args;
  const n = attrs.numBlocks as number;
  checkBlocks(inputs, n);
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

/** KernelConfigs of the native block dense layer and its gradient (the contract: kernel_names.ts). */
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
