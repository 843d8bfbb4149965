import type { _FusedMatMulAttrs, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { TSREC_DENSE } from '../kernel_names';
import type { TsrecBackend } from '../kernel_utils';
import { fusedMatMul } from './_FusedMatMul';

/**
 * The dense layer's forward (contract: kernel_names.ts) as the native _FusedMatMul kernel on the
 * 2-D x and w: one BLAS call with the bias and activation in its epilogue.
 */
function dense(args: {
  inputs: { x: TensorInfo; w: TensorInfo; bias?: TensorInfo };
  attrs: NamedAttrMap;
  backend: TsrecBackend;
}): TensorInfo {
  const { x, w, bias } = args.inputs;
  const attrs = {
    transposeA: false,
    transposeB: false,
    activation: args.attrs.activation,
    leakyreluAlpha: 0.2,
  } as unknown as _FusedMatMulAttrs;
  return fusedMatMul({ inputs: bias ? { a: x, b: w, bias } : { a: x, b: w }, attrs, backend: args.backend });
}

/** KernelConfig of the native dense forward. */
export const denseConfig: KernelConfig = {
  kernelName: TSREC_DENSE,
  backendName: 'tsrec',
  kernelFunc: dense as unknown as KernelFunc,
};
