import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { allocF32, type TsrecBackend } from '../kernel_utils';
import { f32OrCopy } from './TsrecFmInteraction';

/**
 * Kernel name of the dense layer's backward (tsrec only; the op is `denseTsrec`): inputs x [M, K],
 * w [K, N], dy [M, N] and, for ReLU, y [M, N]; attrs `activation` ('linear' | 'relu'), `hasBias`
 * and `noInputGrad` (x is input data: dx is not computed and its output is a scalar 0); outputs
 * dx [M, K], dw [K, N] and, with a bias, db [N].
 */
export const TSREC_DENSE_GRAD = 'TsrecDenseGrad';

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

/** KernelConfig of the native dense backward. */
export const denseGradConfig: KernelConfig = {
  kernelName: TSREC_DENSE_GRAD,
  backendName: 'tsrec',
  kernelFunc: denseGrad as unknown as KernelFunc,
};
