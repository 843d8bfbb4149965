import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { TSREC_SIGMOID_BCE } from '@tsrec/native';

import { binaryFocalLoss, l2Loss, sigmoidBceWithLogits, softmaxCrossEntropy } from './index';

beforeAll(() => setUpTfjs('cpu'));

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Central differences of a float64 scalar function of a vector. */
function numericGrad(f: (x: Float64Array) => number, x0: ArrayLike<number>, h = 1e-5): Float64Array {
  const x = Float64Array.from(x0);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const up = f(x);
    x[i] = v - h;
    const down = f(x);
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

function gradOf(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor): { value: number; grad: Float32Array } {
  const { value, grad } = tf.valueAndGrad(f)(x);
  const out = { value: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  value.dispose();
  grad.dispose();
  return out;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  expect(worst).toBeLessThan(tol);
}

const rng = new SeededRandom(2);
const B = 64;
const logitsArr = rng.array(B, () => 3 * rng.normal());
const labelsArr = rng.array(B, () => (rng.next() < 0.4 ? 1 : 0));
const weightsArr = rng.array(B, () => 0.2 + rng.next());
const wsum = weightsArr.reduce((a, b) => a + b, 0);

describe('sigmoidBceWithLogits', () => {
  const ref = (x: ArrayLike<number>, s: number) => {
    let l = 0;
    for (let i = 0; i < B; i++) {
      const y = labelsArr[i] * (1 - s) + s / 2;
      l += weightsArr[i] * -(y * Math.log(sigmoid(x[i])) + (1 - y) * Math.log(1 - sigmoid(x[i])));
    }
    return l / wsum;
  };
  it.each([0, 0.1])('matches tfjs autodiff of the plain formula and numeric gradients (smoothing %s)', (s) => {
    const x = tf.tensor1d(logitsArr);
    const fused = gradOf((t) => sigmoidBceWithLogits(t, labelsArr, { weights: weightsArr, labelSmoothing: s }), x);
    const y = tf.tensor1d(labelsArr.map((v) => v * (1 - s) + s / 2));
    const w = tf.tensor1d(weightsArr);
    const plain = gradOf(
      (t) =>
        tf.div(
          tf.sum(tf.mul(w, tf.add(tf.sub(tf.relu(t), tf.mul(t, y)), tf.log1p(tf.exp(tf.neg(tf.abs(t))))))),
          wsum,
        ) as tf.Scalar,
      x,
    );
    expect(fused.value).toBeCloseTo(plain.value, 5);
    expectClose(fused.grad, plain.grad, 1e-6);
    expect(fused.value).toBeCloseTo(ref(logitsArr, s), 5);
    expectClose(
      fused.grad,
      numericGrad((v) => ref(v, s), logitsArr),
      1e-6,
    );
    tf.dispose([x, y, w]);
  });
  it('is exact for |logit| up to 1e4 (no overflow, no NaN)', () => {
    const x = tf.tensor1d([1e4, -1e4, 1e4, -1e4, 80, -80]);
    const labels = [0, 1, 1, 0, 0, 1];
    const { value, grad } = gradOf((t) => sigmoidBceWithLogits(t, labels), x);
    // Loss of a confidently wrong logit is |x|; right ones cost ~0.
    expect(value).toBeCloseTo((1e4 + 1e4 + 80 + 80) / 6, 3);
    expectClose(grad, [1 / 6, -1 / 6, 0, 0, 1 / 6, -1 / 6], 1e-7);
    x.dispose();
  });
  it('takes logits [B, 1], tensors as labels/weights, and works inside an optimizer step', () => {
    const v = tf.variable(tf.zeros([4, 1]));
    const opt = tf.train.sgd(1);
    const labels = tf.tensor1d([1, 0, 1, 1]);
    const loss = opt.minimize(() => sigmoidBceWithLogits(v, labels, { weights: tf.tensor1d([1, 1, 1, 1]) }), true)!;
    expect(loss.dataSync()[0]).toBeCloseTo(Math.log(2), 6);
    expectClose(v.dataSync(), [0.125, -0.125, 0.125, 0.125], 1e-7);
    tf.dispose([v, labels, loss]);
  });
  it('reports NaN/Inf and bad shapes with the op, input and position', () => {
    const x = tf.tensor1d([0.5, NaN, 1]);
    expect(() => sigmoidBceWithLogits(x, [0, 1, 0])).toThrow(
      'Expected finite logits for sigmoid_bce_with_logits but received NaN at index 1 (sample 1)',
    );
    expect(() => sigmoidBceWithLogits(tf.tensor1d([0, 1]), [0, Infinity])).toThrow(
      'Expected finite labels for sigmoid_bce_with_logits but received Infinity at index 1 (sample 1)',
    );
    expect(() => sigmoidBceWithLogits(tf.tensor1d([0, 1]), [0, 1, 1])).toThrow(
      'Expected 2 labels for sigmoid_bce_with_logits (one per sample) but received 3',
    );
    expect(() => sigmoidBceWithLogits(tf.tensor1d([0, 1]), [0, 1], { weights: [1, -1] })).toThrow(
      'Expected non-negative weights for sigmoid_bce_with_logits but received -1 at sample 1',
    );
    expect(() => sigmoidBceWithLogits(tf.zeros([2, 2]), [0, 1, 0, 1])).toThrow(
      'Expected logits of shape [B] or [B, 1] for sigmoid_bce_with_logits but received [2, 2]',
    );
    expect(() => sigmoidBceWithLogits(tf.tensor1d([0]), [1], { labelSmoothing: 2 })).toThrow(
      'Expected a number in [0, 1] for labelSmoothing of sigmoid_bce_with_logits but received 2',
    );
    x.dispose();
  });
  it('gives zero loss and gradient when every weight is 0', () => {
    const { value, grad } = gradOf((t) => sigmoidBceWithLogits(t, [1, 0], { weights: [0, 0] }), tf.tensor1d([1, 2]));
    expect(value).toBe(0);
    expect(Array.from(grad)).toEqual([0, 0]);
  });
});

describe('softmaxCrossEntropy', () => {
  const C = 5;
  const n = 12;
  const x0 = rng.array(n * C, () => 2 * rng.normal());
  const cls = Array.from({ length: n }, () => rng.int(C));
  const w = rng.array(n, () => 0.5 + rng.next());
  const W = w.reduce((a, b) => a + b, 0);
  const ref = (x: ArrayLike<number>, s: number) => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(x[i * C + c]);
      for (let c = 0; c < C; c++) l -= w[i] * ((c === cls[i] ? 1 - s : 0) + s / C) * (x[i * C + c] - Math.log(z));
    }
    return l / W;
  };
  it.each([0, 0.2])('matches tfjs autodiff and numeric gradients (smoothing %s)', (s) => {
    const x = tf.tensor2d(x0, [n, C]);
    const fused = gradOf((t) => softmaxCrossEntropy(t, cls, { weights: w, labelSmoothing: s }), x);
    const q = tf.add(tf.mul(tf.oneHot(tf.tensor1d(cls, 'int32'), C), 1 - s), s / C);
    const plain = gradOf(
      (t) => tf.div(tf.sum(tf.mul(tf.tensor1d(w), tf.neg(tf.sum(tf.mul(q, tf.logSoftmax(t)), 1)))), W) as tf.Scalar,
      x,
    );
    expect(fused.value).toBeCloseTo(plain.value, 5);
    expectClose(fused.grad, plain.grad, 1e-6);
    expect(fused.value).toBeCloseTo(ref(x0, s), 5);
    expectClose(
      fused.grad,
      numericGrad((v) => ref(v, s), x0),
      1e-6,
    );
    tf.dispose([x, q]);
  });
  it('is stable for logits of ±1e4 and checks class ids', () => {
    const { value, grad } = gradOf((t) => softmaxCrossEntropy(t, [0, 1]), tf.tensor2d([1e4, -1e4, 1e4, -1e4], [2, 2]));
    expect(value).toBeCloseTo(1e4, 3);
    expectClose(grad, [0, 0, 0.5, -0.5], 1e-7);
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), [0, 3])).toThrow(
      'Expected a class id in [0, 3) for labels of softmax_cross_entropy but received 3 at sample 1',
    );
    expect(() => softmaxCrossEntropy(tf.tensor2d([0, Infinity], [1, 2]), [0])).toThrow(
      'Expected finite logits for softmax_cross_entropy but received Infinity at index 1 (sample 0, column 1)',
    );
  });
});

describe('l2Loss', () => {
  it('matches tfjs autodiff and numeric gradients', () => {
    const x = tf.tensor2d(logitsArr, [B, 1]);
    const fused = gradOf((t) => l2Loss(t, labelsArr, { weights: weightsArr }), x);
    const plain = gradOf(
      (t) =>
        tf.div(
          tf.sum(tf.mul(tf.tensor1d(weightsArr), tf.square(tf.sub(tf.reshape(t, [B]), tf.tensor1d(labelsArr))))),
          wsum,
        ) as tf.Scalar,
      x,
    );
    expect(fused.value).toBeCloseTo(plain.value, 4);
    expectClose(fused.grad, plain.grad, 1e-6);
    const ref = (v: ArrayLike<number>) =>
      Array.from(v, (p, i) => weightsArr[i] * (p - labelsArr[i]) ** 2).reduce((a, b) => a + b) / wsum;
    expectClose(fused.grad, numericGrad(ref, logitsArr), 1e-6);
    const big = gradOf((t) => l2Loss(t, [0]), tf.tensor1d([1e4]));
    expect(big.value).toBe(1e8);
    expect(big.grad[0]).toBe(2e4);
  });
});

describe('binaryFocalLoss', () => {
  const ref = (x: ArrayLike<number>, gamma: number, alpha: number) => {
    let l = 0;
    for (let i = 0; i < B; i++) {
      const p = sigmoid(x[i]);
      const y = labelsArr[i];
      const m = alpha * y * (1 - p) ** gamma + (1 - alpha) * (1 - y) * p ** gamma;
      l += weightsArr[i] * m * -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    }
    return l / wsum;
  };
  it.each([
    [2, 0.25],
    [0.5, 0.5],
    [0, 0.7],
  ])('full gradient matches numeric differentiation (gamma %s, alpha %s)', (gamma, alpha) => {
    const x = tf.tensor1d(logitsArr);
    const fused = gradOf(
      (t) => binaryFocalLoss(t, labelsArr, { weights: weightsArr, gamma, alpha, detachWeight: false }),
      x,
    );
    expect(fused.value).toBeCloseTo(ref(logitsArr, gamma, alpha), 5);
    expectClose(
      fused.grad,
      numericGrad((v) => ref(v, gamma, alpha), logitsArr),
      1e-6,
    );
    x.dispose();
  });
  it('detached focal weight (TorchEasyRec) matches tfjs autodiff with the weight as a constant', () => {
    const gamma = 2;
    const alpha = 0.25;
    const x = tf.tensor1d(logitsArr);
    const fused = gradOf((t) => binaryFocalLoss(t, labelsArr, { weights: weightsArr, gamma, alpha }), x);
    const m = Float32Array.from(logitsArr, (v, i) => {
      const p = sigmoid(v);
      const y = labelsArr[i];
      return weightsArr[i] * (alpha * y * (1 - p) ** gamma + (1 - alpha) * (1 - y) * p ** gamma);
    });
    const y = tf.tensor1d(labelsArr);
    const plain = gradOf(
      (t) =>
        tf.div(
          tf.sum(tf.mul(tf.tensor1d(m), tf.add(tf.sub(tf.relu(t), tf.mul(t, y)), tf.log1p(tf.exp(tf.neg(tf.abs(t))))))),
          wsum,
        ) as tf.Scalar,
      x,
    );
    expect(fused.value).toBeCloseTo(plain.value, 5);
    expectClose(fused.grad, plain.grad, 1e-6);
    tf.dispose([x, y]);
  });
  it('is finite at ±1e4 and validates gamma/alpha', () => {
    for (const detachWeight of [true, false]) {
      const { value, grad } = gradOf(
        (t) => binaryFocalLoss(t, [0, 1, 1, 0], { detachWeight }),
        tf.tensor1d([1e4, -1e4, 1e4, -1e4]),
      );
      expect(value).toBeCloseTo((0.5 * 1e4 * 2) / 4, 2);
      expect(Array.from(grad).every(Number.isFinite)).toBe(true);
    }
    expect(() => binaryFocalLoss(tf.tensor1d([0]), [1], { alpha: 1 })).toThrow(
      'Expected a number in (0, 1) for alpha of binary_focal_loss but received 1',
    );
    expect(() => binaryFocalLoss(tf.tensor1d([0]), [1], { gamma: -1 })).toThrow(
      'Expected a finite number >= 0 for gamma of binary_focal_loss but received -1',
    );
  });
});

describe('loss kernels in the registry', () => {
  it('lets a kernel registered for the backend replace the inner loop behind the same op', () => {
    const original = tf.getKernel(TSREC_SIGMOID_BCE, 'cpu');
    if (!original) throw new Error('no cpu kernel TsrecSigmoidBce');
    const calls: number[] = [];
    tf.unregisterKernel(TSREC_SIGMOID_BCE, 'cpu');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        calls.push(args.inputs.logits?.shape[0] ?? -1);
        return original.kernelFunc(args);
      },
    });
    try {
      const { value } = gradOf((t) => sigmoidBceWithLogits(t, [1, 0, 1]), tf.tensor1d([0, 0, 0]));
      expect(value).toBeCloseTo(Math.log(2), 6);
      expect(calls).toEqual([3]);
    } finally {
      tf.unregisterKernel(TSREC_SIGMOID_BCE, 'cpu');
      tf.registerKernel(original);
    }
    expect(tf.getKernel(TSREC_SIGMOID_BCE, 'cpu')).toBe(original);
  });
});
