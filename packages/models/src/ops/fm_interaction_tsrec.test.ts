import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD, TSREC_KERNEL_CONFIGS } from '@tsrec/native';

import { dotInteraction, fmInteraction } from './index';

// The FM op runs the kernel TsrecFmInteraction (and its backward) registered for the active
// backend: native on `tsrec`, the TS reference on `cpu`. These compare the two and check the
// native one against numeric gradients.

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
  op: (x: tf.Tensor) => tf.Tensor = fmInteraction,
): Promise<{ out: Float32Array; grad: Float32Array }> {
  await setUpTfjs(backend);
  return tf.tidy(() => {
    const x = tf.tensor3d(Float32Array.from(x0), shape);
    const y = op(x);
    const R = tf.tensor2d(Float32Array.from(R0), y.shape as [number, number]);
    const out = (y.dataSync() as Float32Array).slice();
    const grad = (
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), R)))(x)
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

  it('validates like the TS path and runs the kernel registered for tsrec (native), replaceable there', async () => {
    await setUpTfjs('tsrec');
    expect(() => fmInteraction(tf.zeros([2, 3]))).toThrow(
      'Expected a tensor of shape [B, N, D] for x of fm_interaction but received [2, 3]',
    );
    expect(() => fmInteraction(tf.zeros([2, 3, 4], 'int32'))).toThrow(
      'Expected float32 x for fm_interaction but received int32',
    );
    // The native kernels are the ones registered for tsrec, the TS reference ones for cpu.
    for (const name of [TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD]) {
      const native = TSREC_KERNEL_CONFIGS.find((c) => c.kernelName === name);
      expect(tf.getKernel(name, 'tsrec')?.kernelFunc).toBe(native?.kernelFunc);
      expect(tf.getKernel(name, 'cpu')?.kernelFunc).not.toBe(native?.kernelFunc);
    }
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(fmInteraction(t)))(tf.ones([2, 3, 4])));
    expect(info.kernels.map((k) => k.name)).toEqual(
      expect.arrayContaining([TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD]),
    );
    (info.result as tf.Tensor).dispose();
    // A kernel registered in the native one's place is what the op runs.
    const original = tf.getKernel(TSREC_FM_INTERACTION, 'tsrec');
    if (!original) throw new Error('no tsrec kernel TsrecFmInteraction');
    let calls = 0;
    tf.unregisterKernel(TSREC_FM_INTERACTION, 'tsrec');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        calls++;
        return original.kernelFunc(args);
      },
    });
    try {
      tf.tidy(() => fmInteraction(tf.ones([2, 3, 4])));
      expect(calls).toBe(1);
    } finally {
      tf.unregisterKernel(TSREC_FM_INTERACTION, 'tsrec');
      tf.registerKernel(original);
    }
    expect(tf.getKernel(TSREC_FM_INTERACTION, 'tsrec')).toBe(original);
  });
});

describe('dotInteraction on the tsrec backend (the TS reference kernel registered for it)', () => {
  it('gives the cpu values and gradients exactly', async () => {
    const [B, N, D] = [9, 7, 5];
    const x0 = rng.array(B * N * D, () => rng.normal());
    const R0 = rng.array((B * N * (N - 1)) / 2, () => rng.normal());
    const cpu = await run('cpu', x0, R0, [B, N, D], dotInteraction);
    const tsrec = await run('tsrec', x0, R0, [B, N, D], dotInteraction);
    expect(Array.from(tsrec.out)).toEqual(Array.from(cpu.out));
    expect(Array.from(tsrec.grad)).toEqual(Array.from(cpu.grad));
  });
});
