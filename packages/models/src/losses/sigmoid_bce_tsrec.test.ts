import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { sigmoidBceWithLogits } from './index';

// sigmoidBceWithLogits on the `tsrec` backend runs the native kernel; these compare it with the TS
// reference kernel (the `cpu` backend's path): same loss and d_logits, same errors.

const rng = new SeededRandom(31);

async function lossAndGrad(
  backend: string,
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  s: number,
): Promise<{ value: number; grad: Float32Array }> {
  await setUpTfjs(backend);
  return tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(logits), [logits.length, 1]);
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) =>
      sigmoidBceWithLogits(t, labels, { weights, labelSmoothing: s }),
    )(x);
    return { value: value.dataSync()[0], grad: (grad.dataSync() as Float32Array).slice() };
  });
}

afterAll(() => setUpTfjs('cpu'));

describe('sigmoidBceWithLogits on the tsrec backend (native kernel)', () => {
  const n = 4096;
  const logits = rng.array(n, () => 4 * rng.normal());
  const labels = rng.array(n, () => (rng.next() < 0.3 ? 1 : 0));
  const weights = rng.array(n, () => 0.1 + rng.next());

  it.each([
    [0, false],
    [0.1, false],
    [0.05, true],
  ])('matches the TS kernel (smoothing %s, weighted %s)', async (s, weighted) => {
    const w = weighted ? weights : null;
    const cpu = await lossAndGrad('cpu', logits, labels, w, s);
    const native = await lossAndGrad('tsrec', logits, labels, w, s);
    // Labels and weights reach the native kernel as float32 (exact for 0/1 labels; weights round).
    expect(Math.abs(native.value - cpu.value)).toBeLessThan(1e-6 * Math.max(1, cpu.value));
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(native.grad[i] - cpu.grad[i]));
    expect(worst).toBeLessThan(1e-9);
  });

  it('is exact for |logit| up to 1e4 and reports non-finite logits as the TS path does', async () => {
    const { value, grad } = await lossAndGrad('tsrec', [1e4, -1e4, 1e4, -1e4, 80, -80], [0, 1, 1, 0, 0, 1], null, 0);
    expect(value).toBeCloseTo((1e4 + 1e4 + 80 + 80) / 6, 3);
    const want = [1 / 6, -1 / 6, 0, 0, 1 / 6, -1 / 6];
    want.forEach((v, i) => expect(Math.abs(grad[i] - v)).toBeLessThan(1e-7));
    await setUpTfjs('tsrec');
    expect(() => sigmoidBceWithLogits(tf.tensor1d([0.5, NaN, 1]), [0, 1, 0])).toThrow(
      'Expected finite logits for sigmoid_bce_with_logits but received NaN at index 1 (sample 1)',
    );
    const zero = await lossAndGrad('tsrec', [1, 2], [1, 0], [0, 0], 0);
    expect(zero.value).toBe(0);
    expect(Array.from(zero.grad)).toEqual([0, 0]);
  });
});
