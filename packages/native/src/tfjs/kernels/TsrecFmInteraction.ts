import type { KernelConfig, KernelFunc, TensorInfo, TypedArray } from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD } from '../kernel_names';
import { allocF32, f32Values, type TsrecBackend } from '../kernel_utils';

/** The float32 values of `t` as a Float32Array (a copy only when the backend stores another array type). */
export function f32OrCopy(backend: TsrecBackend, t: TensorInfo): Float32Array {
  return f32Values(backend, t) ?? Float32Array.from(backend.readSync(t.dataId) as TypedArray);
}

function fmForward(args: { inputs: { x: TensorInfo }; backend: TsrecBackend }): TensorInfo {
  const { backend } = args;
  const x = args.inputs.x;
  const [B, N, D] = x.shape;
  const out = allocF32(backend, B * D);
  kernelAddon().tfjsFmForward(f32OrCopy(backend, x), B, N, D, out);
  return backend.makeTensorInfo([B, D], 'float32', out);
}

function fmBackward(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: TsrecBackend }): TensorInfo {
  const { backend } = args;
  const { x, dy } = args.inputs;
  const [B, N, D] = x.shape;
  const dx = allocF32(backend, B * N * D);
  kernelAddon().tfjsFmBackward(f32OrCopy(backend, x), f32OrCopy(backend, dy), B, N, D, dx);
  return backend.makeTensorInfo([B, N, D], 'float32', dx);
}

/** KernelConfigs of the native FM interaction (forward and backward; the gradient: gradients/TsrecFmInteraction_grad.ts). */
export const fmInteractionConfig: KernelConfig = {
  kernelName: TSREC_FM_INTERACTION,
  backendName: 'tsrec',
  kernelFunc: fmForward as unknown as KernelFunc,
};
export const fmInteractionGradConfig: KernelConfig = {
  kernelName: TSREC_FM_INTERACTION_GRAD,
  backendName: 'tsrec',
  kernelFunc: fmBackward as unknown as KernelFunc,
};
