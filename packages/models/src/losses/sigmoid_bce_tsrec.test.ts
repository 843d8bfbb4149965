import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import {
  TSREC_BINARY_FOCAL_LOSS,
  TSREC_KERNEL_CONFIGS,
  TSREC_L2_LOSS,
  TSREC_SIGMOID_BCE,
  TSREC_SOFTMAX_CROSS_ENTROPY,
} from '@tsrec/native';

import { binaryFocalLoss, l2Loss, sigmoidBceWithLogits, softmaxCrossEntropy } from './index';

// Each fused loss runs the kernel registered for the active backend. sigmoidBceWithLogits on the
// `tsrec` backend runs the native kernel; these compare it with the TS reference kernel (the `cpu`
// backend's): same loss and d_logits, same errors. The other losses run their TS reference
// kernels on tsrec too: the cpu results exactly.

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

describe('the fused losses in the kernel registry', () => {
  it('runs the native sigmoid BCE on tsrec and the TS reference kernels everywhere else', () => {
    const nativeBce = TSREC_KERNEL_CONFIGS.find((c) => c.kernelName === TSREC_SIGMOID_BCE);
    expect(nativeBce).toBeDefined();
    expect(tf.getKernel(TSREC_SIGMOID_BCE, 'tsrec')?.kernelFunc).toBe(nativeBce?.kernelFunc);
    expect(tf.getKernel(TSREC_SIGMOID_BCE, 'cpu')?.kernelFunc).not.toBe(nativeBce?.kernelFunc);
    for (const name of [TSREC_SOFTMAX_CROSS_ENTROPY, TSREC_L2_LOSS, TSREC_BINARY_FOCAL_LOSS]) {
      expect(TSREC_KERNEL_CONFIGS.some((c) => c.kernelName === name)).toBe(false);
      const cpu = tf.getKernel(name, 'cpu');
      expect(cpu).toBeDefined();
      expect(tf.getKernel(name, 'tsrec')?.kernelFunc).toBe(cpu?.kernelFunc);
    }
  });

  const n = 257;
  const C = 6;
  const x1 = rng.array(n, () => 3 * rng.normal());
  const xc = rng.array(n * C, () => 2 * rng.normal());
  const y01 = rng.array(n, () => (rng.next() < 0.4 ? 1 : 0));
  const cls = Array.from({ length: n }, () => rng.int(C));
  const targets = rng.array(n, () => rng.normal());
  const w = rng.array(n, () => 0.2 + rng.next());
  const cases: [string, ArrayLike<number>, number[], (t: tf.Tensor) => tf.Scalar][] = [
    ['softmaxCrossEntropy', xc, [n, C], (t) => softmaxCrossEntropy(t, cls, { weights: w, labelSmoothing: 0.1 })],
    ['l2Loss', x1, [n, 1], (t) => l2Loss(t, targets, { weights: w })],
    ['binaryFocalLoss (detached)', x1, [n], (t) => binaryFocalLoss(t, y01, { weights: w, gamma: 2, alpha: 0.25 })],
    ['binaryFocalLoss (full)', x1, [n], (t) => binaryFocalLoss(t, y01, { gamma: 0.5, detachWeight: false })],
  ];
  it.each(cases)('%s gives the cpu loss and d_logits exactly on tsrec', async (_name, x0, shape, f) => {
    const results: { value: number; grad: Float32Array }[] = [];
    for (const backend of ['cpu', 'tsrec']) {
      await setUpTfjs(backend);
      results.push(
        tf.tidy(() => {
          const { value, grad } = tf.valueAndGrad(f)(tf.tensor(Float32Array.from(x0), shape));
          return { value: value.dataSync()[0], grad: (grad.dataSync() as Float32Array).slice() };
        }),
      );
    }
    const [cpu, tsrec] = results;
    expect(tsrec.value).toBe(cpu.value);
    expect(Array.from(tsrec.grad)).toEqual(Array.from(cpu.grad));
  });

  it('reports non-finite logits from the reference kernels on tsrec as on cpu', async () => {
    await setUpTfjs('tsrec');
    expect(() => softmaxCrossEntropy(tf.tensor2d([0, Infinity], [1, 2]), [0])).toThrow(
      'Expected finite logits for softmax_cross_entropy but received Infinity at index 1 (sample 0, column 1)',
    );
    expect(() => l2Loss(tf.tensor1d([NaN]), [0])).toThrow(
      'Expected finite logits for l2_loss but received NaN at index 0 (sample 0)',
    );
  });
});
