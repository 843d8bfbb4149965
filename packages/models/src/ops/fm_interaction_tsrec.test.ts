import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { fmInteraction, interactionKernels, setInteractionKernels, TS_INTERACTION_KERNELS } from './index';

// The FM op on the `tsrec` backend runs one native kernel each way; these compare it with the TS
// reference kernel (the `cpu` backend's path) and with numeric gradients.

const rng = new SeededRandom(29);

function worstRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

/** Output and dΣ(op(x)⊙R)/dx on `backend`. */
async function run(
  backend: string,
  x0: ArrayLike<number>,
  R0: ArrayLike<number>,
  shape: [number, number, number],
): Promise<{ out: Float32Array; grad: Float32Array }> {
  await setUpTfjs(backend);
  return tf.tidy(() => {
    const x = tf.tensor3d(Float32Array.from(x0), shape);
    const R = tf.tensor2d(Float32Array.from(R0), [shape[0], shape[2]]);
    const out = (fmInteraction(x).dataSync() as Float32Array).slice();
    const grad = (
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(fmInteraction(t), R)))(x)
        .dataSync() as Float32Array
    ).slice();
    return { out, grad };
  });
}

afterAll(() => setUpTfjs('cpu'));

describe('fmInteraction on the tsrec backend (native kernel)', () => {
  it.each([
    [3, 5, 4],
    [300, 26, 16], // thread pool, specialised D
    [7, 3, 19], // generic D
  ])(
    'matches the TS kernel for [B=%i, N=%i, D=%i] (values exactly, gradients to float32 rounding)',
    async (B, N, D) => {
      const x0 = rng.array(B * N * D, () => rng.normal());
      const R0 = rng.array(B * D, () => rng.normal());
      const cpu = await run('cpu', x0, R0, [B, N, D]);
      const native = await run('tsrec', x0, R0, [B, N, D]);
      expect(worstRel(native.out, cpu.out)).toBe(0);
      expect(worstRel(native.grad, cpu.grad)).toBeLessThan(1e-6);
    },
  );

  it('matches numeric gradients', async () => {
    const [B, N, D] = [2, 4, 3];
    const x0 = rng.array(B * N * D, () => rng.normal());
    const R0 = rng.array(B * D, () => rng.normal());
    const native = await run('tsrec', x0, R0, [B, N, D]);
    const L = (x: Float64Array) => {
      let total = 0;
      for (let b = 0; b < B; b++)
        for (let d = 0; d < D; d++) {
          let s = 0;
          let q = 0;
          for (let n = 0; n < N; n++) {
            s += x[(b * N + n) * D + d];
            q += x[(b * N + n) * D + d] ** 2;
          }
          total += R0[b * D + d] * 0.5 * (s * s - q);
        }
      return total;
    };
    const x = Float64Array.from(x0);
    const num = x.map((v, i) => {
      const h = 1e-5;
      x[i] = v + h;
      const up = L(x);
      x[i] = v - h;
      const down = L(x);
      x[i] = v;
      return (up - down) / (2 * h);
    });
    expect(worstRel(native.grad, num)).toBeLessThan(1e-5);
  });

  it('validates like the TS path and honours a replaced kernel', async () => {
    await setUpTfjs('tsrec');
    expect(() => fmInteraction(tf.zeros([2, 3]))).toThrow(
      'Expected a tensor of shape [B, N, D] for x of fm_interaction but received [2, 3]',
    );
    expect(() => fmInteraction(tf.zeros([2, 3, 4], 'int32'))).toThrow(
      'Expected float32 x for fm_interaction but received int32',
    );
    let calls = 0;
    const prev = setInteractionKernels({
      fm: {
        forward: (...a) => {
          calls++;
          return TS_INTERACTION_KERNELS.fm.forward(...a);
        },
        backward: TS_INTERACTION_KERNELS.fm.backward,
      },
    });
    try {
      tf.tidy(() => fmInteraction(tf.ones([2, 3, 4])));
      expect(calls).toBe(1);
    } finally {
      setInteractionKernels(prev);
    }
    expect(interactionKernels().fm).toBe(TS_INTERACTION_KERNELS.fm);
  });
});
