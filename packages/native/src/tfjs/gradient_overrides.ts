import {
  engine,
  getBackend,
  getGradient,
  type GradConfig,
  type NamedAttrMap,
  registerGradient,
  reshape,
  Sum,
  type Tensor,
  util,
} from '@tensorflow/tfjs-core';

import { TSREC_BROADCAST_TO } from './kernels/TsrecBroadcastTo';

const TSREC_OVERRIDE = Symbol.for('tsrec.gradientOverride');

/**
 * Replaces tfjs-core's gradient of Sum (registered first) with one that, on the `tsrec` backend
 * and for float32, broadcasts dy natively (TsrecBroadcastTo) instead of building ones(x.shape) in
 * JS and multiplying — the same values; on every other backend and dtype it runs tfjs's own
 * gradient. Gradients are global in tfjs, hence the backend check at call time. Idempotent.
 */
export function registerTsrecGradientOverrides(): void {
  const original = getGradient(Sum);
  if (!original || (original as unknown as Record<symbol, boolean>)[TSREC_OVERRIDE]) return;
  const config: GradConfig = {
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const x = saved[0];
      const g = dy as Tensor;
      if (getBackend() !== 'tsrec' || g.dtype !== 'float32' || x.dtype !== 'float32')
        return original.gradFunc(dy, saved, attrs);
      const expanded = x.shape.slice();
      for (const a of util.parseAxisParam(attrs.axis as number | number[], x.shape)) expanded[a] = 1;
      const derX = engine().runKernel(TSREC_BROADCAST_TO, { x: reshape(g, expanded) }, {
        shape: x.shape,
      } as unknown as NamedAttrMap) as Tensor;
      return { x: () => derX };
    },
  };
  (config as unknown as Record<symbol, boolean>)[TSREC_OVERRIDE] = true;
  // Drop the registered entry first: registerGradient warns when it replaces one.
  const globals = (globalThis as unknown as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  (globals?.get('gradRegistry') as Map<string, GradConfig> | undefined)?.delete(Sum);
  registerGradient(config);
}
