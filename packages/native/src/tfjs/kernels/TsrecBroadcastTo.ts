import { type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo, util } from '@tensorflow/tfjs-core';

import { BinaryOpCode, kernelAddon } from '../kernel_addon';
import { allocF32, type TsrecBackend } from '../kernel_utils';
import { f32OrCopy } from './TsrecFmInteraction';

/**
 * Kernel name of a float32 broadcast of x to attrs.shape (x's dims are 1 or equal at the same
 * rank), as tfjs's mul(x, ones(shape)) computes it: tsrec's Sum gradient (gradients.ts) uses it
 * instead of building `ones` in JS and multiplying.
 */
export const TSREC_BROADCAST_TO = 'TsrecBroadcastTo';

const ONE = new Float32Array([1]);

function broadcastTo(args: { inputs: { x: TensorInfo }; attrs: NamedAttrMap; backend: TsrecBackend }): TensorInfo {
  const { backend } = args;
  const x = args.inputs.x;
  const shape = (args.attrs.shape as number[]).slice();
  if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== 1 && d !== shape[i])) {
    throw new RangeError(
      `Expected a shape that [${x.shape.join(', ')}] broadcasts to for ${TSREC_BROADCAST_TO} but received [${shape.join(', ')}]`,
    );
  }
  const out = allocF32(backend, util.sizeFromShape(shape));
  const ones = shape.map(() => 1);
  // x · 1 with broadcasting: exactly tfjs's mul(x, ones(shape)) (NaN and -0 included).
  if (out.length === 0) return backend.makeTensorInfo(shape, 'float32', out);
  if (shape.length === 0) out[0] = f32OrCopy(backend, x)[0];
  else if (!kernelAddon().tfjsBinary(BinaryOpCode.Mul, f32OrCopy(backend, x), x.shape, ONE, ones, out, shape)) {
    throw new RangeError(`Expected a broadcastable shape for ${TSREC_BROADCAST_TO} but received [${shape.join(', ')}]`);
  }
  return backend.makeTensorInfo(shape, 'float32', out);
}

/** KernelConfig of the native broadcast. */
export const broadcastToConfig: KernelConfig = {
  kernelName: TSREC_BROADCAST_TO,
  backendName: 'tsrec',
  kernelFunc: broadcastTo as unknown as KernelFunc,
};
