import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { TSREC_DENSE_GRAD } from '../kernel_names';
import { allocF32, type TsrecBackend } from '../kernel_utils';
import { f32OrCopy } from './TsrecFmInteraction';

function denseGrad(args: {
  inputs: { x: TensorInfo; w: TensorInfo; dy: TensorInfo; y?: TensorInfo };
  attrs: NamedAttrMap;
  backend: TsrecBackend;
}): TensorInfo[] {
  const { backend, inputs, attrs } = args;
  const [M, K] = inputs.x.shape;
  const N = inputs.w.shape[1];
  const relu = attrs.activation === 'relu';
  const hasBias = attrs.hasBias === true;
  const skipDx = attrs.noInputGrad === true;
  const dx = skipDx ? null : allocF32(backend, M * K);
  const dw = allocF32(backend, K * N);
  const db = hasBias ? allocF32(backend, N) : null;
  kernelAddon().tfjsDenseBackward(
    f32OrCopy(backend, inputs.x),
    f32OrCopy(backend, inputs.w),
    relu && inputs.y ? f32OrCopy(backend, inputs.y) : null,
    f32OrCopy(backend, inputs.dy),
    M,
    K,
    N,
    relu,
    dx,
    dw,
    db,
  );
  const out = [
    dx ? backend.makeTensorInfo([M, K], 'float32', dx) : backend.makeTensorInfo([], 'float32', new Float32Array(1)),
    backend.makeTensorInfo([K, N], 'float32', dw),
  ];
  if (db) out.push(backend.makeTensorInfo([N], 'float32', db));
  return out;
}

/** KernelConfig of the native dense backward (the contract: kernel_names.ts). */
export const denseGradConfig: KernelConfig = {
  kernelName: TSREC_DENSE_GRAD,
  backendName: 'tsrec',
  kernelFunc: denseGrad as unknown as KernelFunc,
};
