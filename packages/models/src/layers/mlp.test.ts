import * as tf from '@tensorflow/tfjs-core';
import { create } from '@bufbuild/protobuf';
import { MLPSchema, support } from '@tsrec/config';

import { SeededRandom } from '../testing/seeded_random';
import { setUpTfjs } from '../tfjs_setup';
import type { BatchNorm } from './batch_norm';
import { ACTIVATIONS, Mlp } from './mlp';

beforeAll(() => setUpTfjs('cpu'));

const r = new SeededRandom(3);
const input = (B: number, D: number) =>
  tf.tensor2d(
    r.array(B * D, () => r.normal() * 2 + 1),
    [B, D],
  );
let id = 0;
const opts = () => ({ name: `mlp_test_${id++}`, seed: 5 });

/** Plain tfjs batch norm in training mode (tf.moments over the batch axis). */
function plainBatchNorm(z: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(z, 0);
  return tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

describe('Mlp', () => {
  it('with use_bn: linear without bias, batch statistics in training, torch-style moving statistics, non-trainable', () => {
    const mlp = new Mlp(5, create(MLPSchema, { hiddenUnits: [4], useBn: true, activation: 'nn.Identity' }), opts());
    expect(mlp.layers[0].bias).toBeNull();
    expect(mlp.variables.map((v) => `${v.name.split('/').slice(1).join('/')}:${v.trainable}`)).toEqual([
      'mlp_0/kernel:true',
      'mlp_0/bn/gamma:true',
      'mlp_0/bn/beta:true',
      'mlp_0/bn/moving_mean:false',
      'mlp_0/bn/moving_variance:false',
    ]);
    const bn = mlp.norms[0] as BatchNorm;
    bn.gamma.assign(tf.tensor1d([1, 2, 0.5, 1]));
    bn.beta.assign(tf.tensor1d([0, 1, -1, 0.25]));
    const x = input(16, 5);
    const z = tf.matMul(x, mlp.layers[0].kernel);
    const y = mlp.apply(x, true);
    const expected = plainBatchNorm(z as tf.Tensor2D, bn.gamma, bn.beta);
    const got = y.dataSync();
    expected.dataSync().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    // Moving statistics: 0.9·old + 0.1·batch, with the unbiased batch variance (torch).
    const { mean, variance } = tf.moments(z, 0);
    const mm = bn.movingMean.dataSync();
    const mv = bn.movingVariance.dataSync();
    mean.dataSync().forEach((m, j) => expect(mm[j]).toBeCloseTo(0.1 * m, 5));
    variance.dataSync().forEach((v, j) => expect(mv[j]).toBeCloseTo(0.9 + 0.1 * v * (16 / 15), 4));
    // Inference uses the moving statistics and does not move them.
    const inferred = mlp.apply(x, false).dataSync();
    const ref = tf
      .add(tf.mul(tf.div(tf.sub(z, bn.movingMean), tf.sqrt(tf.add(bn.movingVariance, 1e-5))), bn.gamma), bn.beta)
      .dataSync();
    ref.forEach((v, i) => expect(inferred[i]).toBeCloseTo(v, 4));
    expect(bn.movingMean.dataSync()).toEqual(mm);
    // Gradients through the training-mode norm equal plain tfjs's.
    const R = input(16, 4);
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(mlp.apply(xx as tf.Tensor2D, true), R));
    const plain = (xx: tf.Tensor) =>
      tf.sum(tf.mul(plainBatchNorm(tf.matMul(xx, mlp.layers[0].kernel) as tf.Tensor2D, bn.gamma, bn.beta), R));
    const g = tf.grad(f)(x).dataSync();
    tf.grad(plain)(x)
      .dataSync()
      .forEach((v, i) => expect(g[i]).toBeCloseTo(v, 3));
    const vg = tf.variableGrads(() => f(x) as tf.Scalar, [bn.gamma, bn.beta]).grads;
    const pg = tf.variableGrads(() => plain(x) as tf.Scalar, [bn.gamma, bn.beta]).grads;
    for (const n of Object.keys(pg)) pg[n].dataSync().forEach((v, i) => expect(vg[n].dataSync()[i]).toBeCloseTo(v, 3));
  });

  it('normalises before the activation (Linear → BN/LN → act → dropout) and with use_ln per row', () => {
    const bn = new Mlp(5, create(MLPSchema, { hiddenUnits: [6, 3], useBn: true }), opts());
    const y = bn.apply(input(32, 5), true).dataSync();
    expect(Math.min(...y)).toBe(0); // ReLU after a zero-mean normalisation: about half the values are 0
    expect(y.filter((v) => v === 0).length).toBeGreaterThan(20);
    const ln = new Mlp(5, create(MLPSchema, { hiddenUnits: [6], useLn: true, activation: 'nn.Identity' }), opts());
    expect(ln.variables.map((v) => v.name.split('/').slice(1).join('/'))).toEqual([
      'mlp_0/kernel',
      'mlp_0/bias',
      'mlp_0/ln/gamma',
      'mlp_0/ln/beta',
    ]);
    const out = ln.apply(input(4, 5));
    const { mean, variance } = tf.moments(out, 1);
    mean.dataSync().forEach((m) => expect(m).toBeCloseTo(0, 5));
    variance.dataSync().forEach((v) => expect(v).toBeCloseTo(1, 3));
  });

  it('applies dropout in training only, and checks its configuration', () => {
    const mlp = new Mlp(
      5,
      create(MLPSchema, { hiddenUnits: [64], dropoutRatio: [0.5], activation: 'nn.Identity' }),
      opts(),
    );
    const x = input(8, 5);
    const train = mlp.apply(x, true).dataSync();
    const plain = mlp.apply(x, false).dataSync();
    expect(train.filter((v) => v === 0).length).toBeGreaterThan(100);
    train.forEach((v, i) => v !== 0 && expect(v).toBeCloseTo(2 * plain[i], 4)); // kept values scaled by 1/(1-p)
    expect(() => new Mlp(5, create(MLPSchema, { hiddenUnits: [4], useBn: true, useLn: true }), opts())).toThrow(
      "Expected at most one of use_bn and use_ln in MLP 'mlp_test_",
    );
    expect(() => new Mlp(5, create(MLPSchema, { hiddenUnits: [4, 4], dropoutRatio: [0.1, 0.2, 0.3] }), opts())).toThrow(
      'Expected 1 or 2 values in dropout_ratio',
    );
    expect(() => new Mlp(5, create(MLPSchema, { hiddenUnits: [4], dropoutRatio: [1] }), opts())).toThrow(
      'Expected dropout_ratio values in [0, 1)',
    );
  });
});

describe('MLP activations', () => {
  it('are exactly the names config validation accepts', () => {
    expect(Object.keys(ACTIVATIONS).sort()).toEqual([...support.SUPPORTED_ACTIVATIONS].sort());
  });

  it.each([
    ['nn.GELU', (x: number) => 0.5 * x * (1 + erfRef(x / Math.SQRT2))],
    ['nn.SiLU', (x: number) => x / (1 + Math.exp(-x))],
    ['nn.ReLU6', (x: number) => Math.min(6, Math.max(0, x))],
    ['nn.Identity', (x: number) => x],
    ['nn.PReLU', (x: number) => (x > 0 ? x : 0.25 * x)],
  ])('%s as torch defines it, after the linear part', (activation, f) => {
    const mlp = new Mlp(3, create(MLPSchema, { hiddenUnits: [4], activation }), opts());
    const x = input(5, 3);
    const linear = tf.add(tf.matMul(x, mlp.layers[0].kernel as tf.Tensor2D), mlp.layers[0].bias!);
    const want = Array.from(linear.dataSync(), f);
    const got = Array.from(mlp.apply(x).dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });
});

describe('nn.PReLU', () => {
  it('has one learnable slope per layer (torch: 0.25), named, trained, after a norm too', () => {
    const mlp = new Mlp(3, create(MLPSchema, { hiddenUnits: [4, 2], activation: 'nn.PReLU', useLn: true }), opts());
    expect(mlp.prelu!.map((v) => [v.name, Array.from(v.dataSync())])).toEqual([
      [expect.stringMatching(/mlp_0\/prelu\/weight$/), [0.25]],
      [expect.stringMatching(/mlp_1\/prelu\/weight$/), [0.25]],
    ]);
    expect(mlp.variables).toContain(mlp.prelu![1]);
    const x = input(8, 3);
    const { grads } = tf.variableGrads(() => tf.sum(mlp.apply(x)) as tf.Scalar, mlp.prelu!);
    // The slope's gradient is the sum of the negative pre-activations: non-zero after LayerNorm.
    expect(Math.abs(grads[mlp.prelu![0].name].dataSync()[0])).toBeGreaterThan(0);
  });
});

/** erf by Abramowitz–Stegun 7.1.26 refined with a Taylor series near 0 (|error| < 1e-7 here). */
function erfRef(x: number): number {
  if (Math.abs(x) < 2) {
    let sum = 0;
    let term = x;
    for (let n = 0; n < 40; n++) {
      sum += term / (2 * n + 1);
      term *= (-x * x) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return Math.sign(x) * y;
}
