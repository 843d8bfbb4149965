import * as tf from '@tensorflow/tfjs-core';

import { SeededRandom } from '../testing/seeded_random';
import { setUpTfjs } from '../tfjs_setup';
import { jrcLoss } from './index';

// jrc_loss against a plain float64 transcription of TorchEasyRec's JRCLoss (tzrec/loss/jrc_loss.py):
// value and gradient on random batches (several sessions, ties of labels), and the edge cases.
beforeAll(() => setUpTfjs('cpu'));

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);

/** −log softmax_j(s)[t] over the entries not masked. */
function nll(scores: number[], t: number): number {
  const m = Math.max(...scores);
  const lse = m + Math.log(scores.reduce((a, s) => a + Math.exp(s - m), 0));
  return lse - scores[t];
}

/** The reference: α·CE + (1 − α)·(P/B·L⁺ + N/B·L⁻), a term of no rows counting 0. */
function reference(x: ArrayLike<number>, y: ArrayLike<number>, s: ArrayLike<number>, alpha: number): number {
  const B = y.length;
  let ce = 0;
  for (let i = 0; i < B; i++) ce += nll([x[2 * i], x[2 * i + 1]], y[i]);
  ce /= B;
  const term = (cls: number) => {
    const rows = Array.from({ length: B }, (_, i) => i).filter((i) => y[i] === cls);
    if (rows.length === 0) return 0;
    let sum = 0;
    for (const i of rows) {
      const scores = Array.from(
        { length: B },
        (_, j) => x[2 * j + cls] - 1e9 * ((s[j] !== s[i] ? 1 : 0) + (j !== i && y[j] === cls ? 1 : 0)),
      );
      sum += nll(scores, i);
    }
    return (sum / rows.length) * (rows.length / B);
  };
  return alpha * ce + (1 - alpha) * (term(1) + term(0));
}

describe(`jrcLoss (seed ${seed})`, () => {
  it('equals the reference in value and gradient on random batches', () => {
    const r = new SeededRandom(seed);
    for (let trial = 0; trial < 20; trial++) {
      const B = 2 + Math.floor(r.next() * 14);
      const x = Float32Array.from({ length: 2 * B }, () => r.next() * 4 - 2);
      const y = Float32Array.from({ length: B }, () => (r.next() < 0.4 ? 1 : 0));
      const s = Int32Array.from({ length: B }, () => Math.floor(r.next() * 3));
      const alpha = trial % 3 === 0 ? 0.5 : r.next();
      const logits = tf.tensor2d(x, [B, 2]);
      const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => jrcLoss(l, y, s, { alpha }))(logits);
      expect(value.dataSync()[0]).toBeCloseTo(reference(x, y, s, alpha), 5);
      const g = grad.dataSync();
      const h = 1e-4;
      for (let k = 0; k < 2 * B; k++) {
        const up = Float64Array.from(x);
        const down = Float64Array.from(x);
        up[k] += h;
        down[k] -= h;
        const num = (reference(up, y, s, alpha) - reference(down, y, s, alpha)) / (2 * h);
        expect(Math.abs(g[k] - num)).toBeLessThan(1e-4);
      }
      tf.dispose([logits, value, grad]);
    }
  });

  it('edge cases: one class only, every sample its own session, one session', () => {
    const x = Float32Array.of(0.3, -0.2, 1.5, 0.1, -0.7, 0.9, 0.2, 0.4);
    const check = (y: number[], s: number[]) =>
      tf.tidy(() => {
        const v = jrcLoss(tf.tensor2d(x, [4, 2]), Float32Array.from(y), s, { alpha: 0.3 }).dataSync()[0];
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeCloseTo(reference(x, y, s, 0.3), 5);
        return v;
      });
    check([0, 0, 0, 0], [1, 1, 2, 2]); // no positives: that term is 0 (TorchEasyRec: NaN)
    check([1, 1, 1, 1], [1, 1, 1, 1]);
    // Own sessions: a sample competes with itself only, the ranking term is 0: α · CE.
    const own = check([1, 0, 1, 0], [1, 2, 3, 4]);
    expect(own).toBeCloseTo(reference(x, [1, 0, 1, 0], [1, 2, 3, 4], 1) * 0.3, 5);
    check([1, 0, 0, 1], [5, 5, 5, 5]);
  });

  it('refuses what it cannot compute, naming it', () => {
    const l = tf.zeros([3, 2]);
    expect(() => jrcLoss(tf.zeros([3, 1]), new Float32Array(3), [0, 0, 0])).toThrow(/shape \[B, 2\]/);
    expect(() => jrcLoss(l, Float32Array.of(0, 2, 1), [0, 0, 0])).toThrow(/labels 0 or 1 .* 2 at sample 1/);
    expect(() => jrcLoss(l, new Float32Array(3), [0, 0])).toThrow(/3 labels and session ids/);
    expect(() => jrcLoss(l, new Float32Array(3), [0, 0, 0], { alpha: 2 })).toThrow(/alpha in \[0, 1\]/);
    l.dispose();
  });
});
