import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { TSREC_DOT_INTERACTION, TSREC_FM_INTERACTION } from '@tsrec/native';

import { crossV2Layer, dotInteraction, fmInteraction } from './index';

beforeAll(() => setUpTfjs('cpu'));

const rng = new SeededRandom(13);

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  expect(worst).toBeLessThan(tol);
}

/** Central differences of L(x) = Σ f(x) ⊙ R in float64. */
function numericGrad(
  f: (x: Float64Array) => Float64Array,
  x0: ArrayLike<number>,
  R: ArrayLike<number>,
  h = 1e-5,
): Float64Array {
  const x = Float64Array.from(x0);
  const L = () => f(x).reduce((s, v, i) => s + v * R[i], 0);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const up = L();
    x[i] = v - h;
    const down = L();
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Value and gradient of Σ op(x) ⊙ R with respect to x. */
function projectedGrad(
  op: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  R: tf.Tensor,
): { out: Float32Array; grad: Float32Array } {
  return tf.tidy(() => {
    const out = op(x).dataSync() as Float32Array;
    const grad = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), R)))(x)
      .dataSync() as Float32Array;
    return { out: out.slice(), grad: grad.slice() };
  });
}

const B = 5;
const N = 6;
const D = 4;
const x0 = rng.array(B * N * D, () => rng.normal());

describe('fmInteraction', () => {
  const ref = (x: ArrayLike<number>) => {
    const out = new Float64Array(B * D);
    for (let b = 0; b < B; b++)
      for (let d = 0; d < D; d++) {
        let s = 0;
        let q = 0;
        for (let n = 0; n < N; n++) {
          s += x[(b * N + n) * D + d];
          q += x[(b * N + n) * D + d] ** 2;
        }
        out[b * D + d] = 0.5 * (s * s - q);
      }
    return out;
  };
  it('matches the plain tfjs formula (values and autodiff) and numeric gradients', () => {
    const x = tf.tensor3d(x0, [B, N, D]);
    const R = tf.tensor2d(
      rng.array(B * D, () => rng.normal()),
      [B, D],
    );
    const fused = projectedGrad(fmInteraction, x, R);
    const plain = projectedGrad((t) => tf.mul(0.5, tf.sub(tf.square(tf.sum(t, 1)), tf.sum(tf.square(t), 1))), x, R);
    expectClose(fused.out, plain.out, 1e-5);
    expectClose(fused.grad, plain.grad, 1e-5);
    expectClose(fused.out, ref(x0), 1e-5);
    expectClose(fused.grad, numericGrad(ref, x0, R.dataSync()), 1e-5);
    expect(fmInteraction(x).shape).toEqual([B, D]);
    tf.dispose([x, R]);
  });
  it('rejects inputs that are not [B, N, D]', () => {
    expect(() => fmInteraction(tf.zeros([2, 3]))).toThrow(
      'Expected a tensor of shape [B, N, D] for x of fm_interaction but received [2, 3]',
    );
  });
});

describe('dotInteraction', () => {
  const P = (N * (N - 1)) / 2;
  const ref = (x: ArrayLike<number>) => {
    const out = new Float64Array(B * P);
    let p = 0;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < N; i++)
        for (let j = i + 1; j < N; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += x[(b * N + i) * D + d] * x[(b * N + j) * D + d];
          out[p++] = s;
        }
    return out;
  };
  it('gives pairs i < j in row-major upper-triangle order, matching tfjs matMul + gather and numeric gradients', () => {
    const x = tf.tensor3d(x0, [B, N, D]);
    const R = tf.tensor2d(
      rng.array(B * P, () => rng.normal()),
      [B, P],
    );
    const triu: number[] = [];
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) triu.push(i * N + j);
    const plainOp = (t: tf.Tensor) =>
      tf.gather(
        tf.reshape(tf.matMul(t as tf.Tensor3D, t as tf.Tensor3D, false, true), [B, N * N]),
        tf.tensor1d(triu, 'int32'),
        1,
      );
    const fused = projectedGrad(dotInteraction, x, R);
    const plain = projectedGrad(plainOp, x, R);
    expectClose(fused.out, plain.out, 1e-5);
    expectClose(fused.grad, plain.grad, 1e-5);
    expectClose(fused.grad, numericGrad(ref, x0, R.dataSync()), 1e-5);
    expect(dotInteraction(x).shape).toEqual([B, P]);
    tf.dispose([x, R]);
  });
  it('order: (0,1), (0,2), (1,2) for N = 3', () => {
    const out = dotInteraction(tf.tensor3d([1, 0, 0, 2, 3, 0], [1, 3, 2]));
    // x0 = (1,0), x1 = (0,2), x2 = (3,0): <x0,x1> = 0, <x0,x2> = 3, <x1,x2> = 0.
    expect(Array.from(out.dataSync())).toEqual([0, 3, 0]);
  });
});

describe('crossV2Layer', () => {
  const Dc = 6;
  const r = 3;
  const vals = {
    x0: rng.array(B * Dc, () => rng.normal()),
    xl: rng.array(B * Dc, () => rng.normal()),
    u: rng.array(Dc * r, () => rng.normal() * 0.5),
    v: rng.array(r * Dc, () => rng.normal() * 0.5),
    b: rng.array(Dc, () => rng.normal() * 0.1),
  };
  const plain = (x0: tf.Tensor2D, xl: tf.Tensor2D, u: tf.Tensor2D, v: tf.Tensor2D, b: tf.Tensor1D) =>
    tf.add(tf.mul(x0, tf.add(tf.matMul(tf.matMul(xl, u), v), b)), xl) as tf.Tensor2D;
  it('matches tfjs autodiff of the plain formula for every input', () => {
    const t = [
      tf.tensor2d(vals.x0, [B, Dc]),
      tf.tensor2d(vals.xl, [B, Dc]),
      tf.tensor2d(vals.u, [Dc, r]),
      tf.tensor2d(vals.v, [r, Dc]),
      tf.tensor1d(vals.b),
    ] as const;
    const R = tf.tensor2d(
      rng.array(B * Dc, () => rng.normal()),
      [B, Dc],
    );
    const loss =
      (f: typeof plain) =>
      (...a: tf.Tensor[]) =>
        tf.sum(tf.mul(f(...(a as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D])), R)) as tf.Scalar;
    const gf = tf.grads(loss(crossV2Layer))([...t]);
    const gp = tf.grads(loss(plain))([...t]);
    expectClose(crossV2Layer(...t).dataSync(), plain(...t).dataSync(), 1e-6);
    for (let i = 0; i < 5; i++) expectClose(gf[i].dataSync(), gp[i].dataSync(), 1e-5);
    tf.dispose([...t, R, ...gf, ...gp]);
  });
  it('sums both gradient paths when x0 and xl are the same tensor (the first layer), matching numeric gradients', () => {
    const x = tf.tensor2d(vals.x0, [B, Dc]);
    const [u, v, b] = [tf.tensor2d(vals.u, [Dc, r]), tf.tensor2d(vals.v, [r, Dc]), tf.tensor1d(vals.b)];
    const R = tf.tensor2d(
      rng.array(B * Dc, () => rng.normal()),
      [B, Dc],
    );
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(crossV2Layer(t as tf.Tensor2D, t as tf.Tensor2D, u, v, b), R)))(
      x,
    );
    const U = u.dataSync();
    const V = v.dataSync();
    const ref = (xs: ArrayLike<number>) => {
      const out = new Float64Array(B * Dc);
      for (let bb = 0; bb < B; bb++) {
        const h = new Float64Array(r);
        for (let k = 0; k < r; k++) for (let d = 0; d < Dc; d++) h[k] += xs[bb * Dc + d] * U[d * r + k];
        for (let d = 0; d < Dc; d++) {
          let z = vals.b[d];
          for (let k = 0; k < r; k++) z += h[k] * V[k * Dc + d];
          out[bb * Dc + d] = xs[bb * Dc + d] * z + xs[bb * Dc + d];
        }
      }
      return out;
    };
    expectClose(g.dataSync(), numericGrad(ref, vals.x0, R.dataSync()), 1e-5);
    expect(() => crossV2Layer(x, x, v, v, b)).toThrow(
      'Expected u of shape [6, r] for cross_v2_layer but received [3, 6]',
    );
    tf.dispose([x, u, v, b, R, g]);
  });
});

describe('interaction kernels in the registry', () => {
  it.each([
    [TSREC_FM_INTERACTION, fmInteraction],
    [TSREC_DOT_INTERACTION, dotInteraction],
  ] as [string, (x: tf.Tensor) => tf.Tensor][])(
    '%s: the op runs the kernel registered for the backend, and a kernel registered in its place replaces it',
    (name, op) => {
      const original = tf.getKernel(name, 'cpu');
      if (!original) throw new Error(`no cpu kernel ${name}`);
      let calls = 0;
      tf.unregisterKernel(name, 'cpu');
      tf.registerKernel({
        ...original,
        kernelFunc: (args) => {
          calls++;
          return original.kernelFunc(args);
        },
      });
      try {
        tf.tidy(() => op(tf.ones([1, 3, 4])));
        expect(calls).toBe(1);
      } finally {
        tf.unregisterKernel(name, 'cpu');
        tf.registerKernel(original);
      }
      expect(tf.getKernel(name, 'cpu')).toBe(original);
    },
  );
});
