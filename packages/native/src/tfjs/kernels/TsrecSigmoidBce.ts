import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { kernelAddon } from '../kernel_addon';
import { type SigmoidBceAttrs, TSREC_SIGMOID_BCE } from '../kernel_names';
import { allocF32, type TsrecBackend } from '../kernel_utils';
import { f32OrCopy } from './TsrecFmInteraction';

function asF32(v: ArrayLike<number>): Float32Array {
  return Object.prototype.toString.call(v) === '[object Float32Array]' ? (v as Float32Array) : Float32Array.from(v);
}

/**
 * Sigmoid BCE with logits in native code (native/include/tsrec/fused_kernels.h), the contract of
 * kernel_names.ts: the loss and d_logits in one pass. Labels and weights reach the kernel as
 * float32 (converted when they are not Float32Arrays).
 */
function sigmoidBce(args: {
  inputs: { logits: TensorInfo };
  attrs: NamedAttrMap;
  backend: TsrecBackend;
}): TensorInfo[] {
  const { backend } = args;
  const logits = args.inputs.logits;
  const { labels, weights, labelSmoothing } = args.attrs as unknown as SigmoidBceAttrs;
  const x = f32OrCopy(backend, logits);
  // The native kernel writes every element of d unless it throws below.
  const d = allocF32(backend, x.length);
  const r = kernelAddon().tfjsSigmoidBce(x, asF32(labels), weights ? asF32(weights) : null, labelSmoothing, d);
  if (r < 0) {
    const i = -r - 1;
    throw new RangeError(
      `Expected finite logits for sigmoid_bce_with_logits but received ${x[i]} at index ${i} (sample ${i})`,
    );
  }
  return [
    backend.makeTensorInfo([], 'float32', Float32Array.of(r)),
    backend.makeTensorInfo(logits.shape, 'float32', d),
  ];
}

/** KernelConfig of the native sigmoid BCE with logits. */
export const sigmoidBceConfig: KernelConfig = {
  kernelName: TSREC_SIGMOID_BCE,
  backendName: 'tsrec',
  kernelFunc: sigmoidBce as unknown as KernelFunc,
};
