import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { fusedDense, type FusedDenseActivation } from './index';

// fusedDense on the `tsrec` backend (one native kernel each way) against tf.fused.matMul on the
// `cpu` backend: values and the gradients for x, kernel and bias.

const rng = new SeededRandom(37);

async function run(backend: string, M: number, K: number, N: number, act: FusedDenseActivation, withBias: boolean, data: Float32Array[]): Promise<Float32Array[]> {
  await setUpTfjs(backend);
  return tf.tidy(() => {
    const [x0, w0, b0, r0] = data;
    const x = tf.tensor2d(x0, [M, K]);
    const w = tf.tensor2d(w0, [K, N]);
    const b = tf.tensor1d(b0);
    const r = tf.tensor2d(r0, [M, N]);
    const f = (xs: tf.Tensor[]) =>
      backend === 'cpu'
        ? (tf.fused.matMul({ a: xs[0] as tf.Tensor2D, b: xs[1] as tf.Tensor2D, bias: withBias ? xs[2] : undefined, activation: act }) as tf.Tensor2D)
        : fusedDense(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D, withBias ? (xs[2] as tf.Tensor1D) : null, act);
    const inputs = withBias ? [x, w, b] : [x, w];
    const y = (f(inputs).dataSync() as Float32Array).slice();
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), r)))(inputs);
    return [y, ...grads.map((g) => (g.dataSync() as Float32Array).slice())];
  });
}

afterAll(() => setUpTfjs('cpu'));

describe('fusedDense', () => {
  it.each([
    [64, 429, 256, 'relu', true],
    [300, 17, 5, 'linear', true],
    [33, 8, 1, 'relu', false],
    [20, 6, 3, 'sigmoid', true], // falls back to tf.fused.matMul on tsrec too
  ] as [number, number, number, FusedDenseActivation, boolean][])('matches tf.fused.matMul on cpu [%i x %i]·[%i], %s, bias %s', async (M, K, N, act, withBias) => {
    const data = [rng.array(M * K, () => rng.normal()), rng.array(K * N, () => rng.normal()), rng.array(N, () => rng.normal()), rng.array(M * N, () => rng.normal())];
    const cpu = await run('cpu', M, K, N, act, withBias, data);
    const native = await run('tsrec', M, K, N, act, withBias, data);
    expect(native.length).toBe(cpu.length);
    native.forEach((a, i) => {
      let worst = 0;
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - cpu[i][j]) / Math.max(1, Math.abs(cpu[i][j])));
      expect(worst).toBeLessThan(1e-4);
    });
  });
});
