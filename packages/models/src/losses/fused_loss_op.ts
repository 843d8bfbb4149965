import * as tf from '@tensorflow/tfjs-core';
import type { FusedLossAttrs } from '@tsrec/native';

import { checkFinite } from './finite_check';
import './kernels/register_all_kernels';

/** Labels, weights or logits as a tensor or a flat array. */
export type LossInput = tf.Tensor | ArrayLike<number>;

/** Flat float32 values of a tensor or array (no copy for a float32 tensor on a CPU backend). */
export function valuesOf(x: LossInput): ArrayLike<number> {
  if (x instanceof tf.Tensor) return x.dataSync() as ArrayLike<number>;
  return x;
}

/**
 * Runs the fused loss kernel `kernelName` (contract: @tsrec/native kernel_names.ts) on the active
 * backend as a tfjs op with a custom gradient: the forward pass gets the loss and d_logits from
 * the one kernel call; the backward pass only scales the saved d_logits by the upstream gradient.
 * The kernel reports non-finite logits as `op`'s error.
 */
export function fusedLossOp<A extends FusedLossAttrs>(
  op: string,
  kernelName: string,
  logits: tf.Tensor,
  attrs: A,
): tf.Scalar {
  if (!(logits instanceof tf.Tensor))
    throw new TypeError(`Expected a tf.Tensor for logits of ${op} but received ${typeof logits}`);
  if (logits.dtype !== 'float32') throw new TypeError(`Expected float32 logits for ${op} but received ${logits.dtype}`);
  const run = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [loss, dLogits] = tf.engine().runKernel(kernelName, { logits: x }, attrs as unknown as tf.NamedAttrMap) as [
      tf.Scalar,
      tf.Tensor,
    ];
    save([dLogits]);
    return { value: loss, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]);
  return run(logits) as tf.Scalar;
}

/** Checks a per-sample input's length and finiteness; returns its values. */
export function perSample(
  op: string,
  name: string,
  x: LossInput | null | undefined,
  n: number,
): ArrayLike<number> | null {
  if (x === null || x === undefined) return null;
  const v = valuesOf(x);
  if (v.length !== n) throw new RangeError(`Expected ${n} ${name} for ${op} (one per sample) but received ${v.length}`);
  checkFinite(op, name, v);
  return v;
}

/** Checks that sample weights are non-negative. */
export function checkWeights(op: string, w: ArrayLike<number> | null): void {
  if (!w) return;
  for (let i = 0; i < w.length; i++) {
    if (w[i] < 0) throw new RangeError(`Expected non-negative weights for ${op} but received ${w[i]} at sample ${i}`);
  }
}

/** Checks an option in [lo, hi] (inclusive unless stated by `openHi`). */
export function checkRange(op: string, name: string, v: number, lo: number, hi: number, openHi = false): void {
  if (typeof v !== 'number' || !(v >= lo) || !(openHi ? v < hi : v <= hi)) {
    throw new RangeError(
      `Expected a number in [${lo}, ${hi}${openHi ? ')' : ']'} for ${name} of ${op} but received ${v}`,
    );
  }
}
