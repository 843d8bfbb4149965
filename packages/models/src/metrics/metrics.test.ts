import { SeededRandom } from '../testing/seeded_random';
import {
  AccuracyMetric,
  argsortFloat32,
  AucMetric,
  createMetric,
  exactAuc,
  GroupedAucMetric,
  groupedAuc,
  LogLossMetric,
  MeanAbsoluteErrorMetric,
  MeanSquaredErrorMetric,
  MulticlassAucMetric,
  multiclassAuc,
  NormalizedEntropyMetric,
  RecallAtKMetric,
} from './index';
import { create } from '@bufbuild/protobuf';
import { MetricConfigSchema } from '@tsrec/config';

/** O(n²) weighted AUC: each (positive, negative) pair counts w+·w-, a tie one half. */
function bruteAuc(s: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number> | null): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++) {
    if (!(y[i] > 0.5)) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] > 0.5) continue;
      const ww = (w ? w[i] : 1) * (w ? w[j] : 1);
      den += ww;
      const si = Math.fround(s[i]);
      const sj = Math.fround(s[j]);
      num += ww * (si > sj ? 1 : si === sj ? 0.5 : 0);
    }
  }
  return den > 0 ? num / den : NaN;
}

/** Random binary data; `levels` > 0 quantises scores to create many ties. */
function binaryData(rng: SeededRandom, n: number, levels = 0) {
  const labels = rng.array(n, () => (rng.next() < 0.3 ? 1 : 0));
  const scores = Float32Array.from(labels, (y) => {
    const s = 1 / (1 + Math.exp(-(rng.normal() + (y ? 0.8 : 0))));
    return levels > 0 ? Math.round(s * levels) / levels : s;
  });
  const weights = rng.array(n, () => 0.1 + 2 * rng.next());
  return { scores, labels, weights };
}

describe('argsortFloat32', () => {
  it('sorts negatives, zeros, infinities and ties stably', () => {
    const rng = new SeededRandom(1);
    const s = Float32Array.from({ length: 3000 }, (_, i) =>
      i % 7 === 0
        ? -0
        : i % 11 === 0
          ? 0
          : i % 13 === 0
            ? Infinity
            : i % 17 === 0
              ? -Infinity
              : Math.round(rng.normal() * 40) / 8,
    );
    // Compare with < and > (not subtraction: Infinity - Infinity is NaN); ties keep index order.
    const want = Array.from(s.keys()).sort((a, b) => (s[a] < s[b] ? -1 : s[a] > s[b] ? 1 : a - b));
    expect(Array.from(argsortFloat32(s))).toEqual(want);
  });
  it('handles empty and single inputs', () => {
    expect(Array.from(argsortFloat32(new Float32Array(0)))).toEqual([]);
    expect(Array.from(argsortFloat32(Float32Array.of(3)))).toEqual([0]);
  });
});

describe('exactAuc', () => {
  it.each([
    ['continuous', 0],
    ['heavy ties', 10],
    ['two levels', 1],
  ])('matches the pairwise reference (%s), with and without weights', (_n, levels) => {
    const rng = new SeededRandom(7 + levels);
    for (const n of [2, 17, 400]) {
      const { scores, labels, weights } = binaryData(rng, n, levels);
      labels[0] = 1;
      labels[1] = 0;
      expect(exactAuc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
      expect(exactAuc(scores, labels, weights)).toBeCloseTo(bruteAuc(scores, labels, weights), 10);
    }
  });
  it('equals the average-rank (Mann–Whitney) formula for unit weights', () => {
    const scores = [0.1, 0.4, 0.4, 0.4, 0.8, 0.8];
    const labels = [0, 1, 0, 1, 0, 1];
    // Ranks: 1, 3, 3, 3, 5.5, 5.5; positives 3 + 3 + 5.5 = 11.5; U = 11.5 - 6 = 5.5 of 9 pairs.
    expect(exactAuc(scores, labels)).toBeCloseTo(5.5 / 9, 15);
  });
  it('is NaN with one class and 1/0 for perfect/inverse ranking', () => {
    expect(exactAuc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(exactAuc([0.1, 0.2], [0, 1])).toBe(1);
    expect(exactAuc([0.1, 0.2], [1, 0])).toBe(0);
  });
  it('reports NaN scores and bad lengths clearly', () => {
    expect(() => exactAuc([0.1, NaN], [0, 1])).toThrow(
      "Expected finite preds for metric 'auc' but received NaN at index 1 (sample 1)",
    );
    expect(() => exactAuc([0.1], [0, 1])).toThrow("Expected 1 labels for metric 'auc' (1 samples) but received 2");
    expect(() => exactAuc([0.1, 0.2], [0, 1], [1, -1])).toThrow(
      "Expected finite non-negative weights for metric 'auc' but received -1 at sample 1",
    );
  });
});

describe('AucMetric', () => {
  it('streams batches and merges worker states to the AUC over all samples', () => {
    const rng = new SeededRandom(11);
    const { scores, labels, weights } = binaryData(rng, 900, 20);
    const whole = new AucMetric();
    const workers = [new AucMetric(), new AucMetric(), new AucMetric()];
    for (let b = 0; b < 9; b++) {
      const sl = [b * 100, b * 100 + 100] as const;
      // Worker 2 gets unit weights implicitly (weights omitted) to test the mixed path.
      const w = b % 3 === 2 ? null : weights.subarray(...sl);
      whole.update({ preds: scores.subarray(...sl), labels: labels.subarray(...sl), weights: w });
      workers[b % 3].update({ preds: scores.subarray(...sl), labels: labels.subarray(...sl), weights: w });
    }
    const merged = new AucMetric();
    for (const m of workers) merged.merge(m.state());
    const w = weights.map((x, i) => (Math.floor(i / 100) % 3 === 2 ? 1 : x));
    expect(whole.compute()).toBeCloseTo(bruteAuc(scores, labels, w), 10);
    expect(merged.compute()).toBeCloseTo(whole.compute(), 12);
    whole.reset();
    expect(whole.compute()).toBeNaN();
  });
});

describe('groupedAuc', () => {
  function bruteGauc(s: Float32Array, y: Float32Array, g: number[]): number {
    const keys = [...new Set(g)];
    const aucs = keys
      .map((k) => {
        const idx = g.flatMap((x, i) => (x === k ? [i] : []));
        return bruteAuc(
          idx.map((i) => s[i]),
          idx.map((i) => y[i]),
        );
      })
      .filter((a) => !Number.isNaN(a));
    return aucs.reduce((a, b) => a + b, 0) / aucs.length;
  }
  it('is the unweighted mean AUC over groups with both classes (ties included)', () => {
    const rng = new SeededRandom(5);
    const { scores, labels } = binaryData(rng, 2000, 8);
    const groups = Array.from({ length: 2000 }, () => rng.int(60));
    expect(groupedAuc(scores, labels, groups)).toBeCloseTo(bruteGauc(scores, labels, groups), 12);
    // Groups as strings and bigints give the same value.
    expect(
      groupedAuc(
        scores,
        labels,
        groups.map((g) => `u${g}`),
      ),
    ).toBeCloseTo(bruteGauc(scores, labels, groups), 12);
    expect(groupedAuc(scores, labels, BigInt64Array.from(groups, BigInt))).toBeCloseTo(
      bruteGauc(scores, labels, groups),
      12,
    );
  });
  it('skips single-class groups and is NaN when none qualifies', () => {
    expect(groupedAuc([0.1, 0.9, 0.5, 0.4], [0, 1, 1, 1], [1, 1, 2, 2])).toBe(1);
    expect(groupedAuc([0.1, 0.9], [1, 1], [1, 2])).toBeNaN();
  });
  it('streams and merges across workers, a group split over workers counting once', () => {
    const rng = new SeededRandom(6);
    const { scores, labels } = binaryData(rng, 600, 5);
    const groups = Array.from({ length: 600 }, () => rng.int(20));
    const a = new GroupedAucMetric();
    const b = new GroupedAucMetric();
    a.update({ preds: scores.subarray(0, 250), labels: labels.subarray(0, 250), groups: groups.slice(0, 250) });
    b.update({ preds: scores.subarray(250), labels: labels.subarray(250), groups: groups.slice(250) });
    a.merge(b.state());
    expect(a.compute()).toBeCloseTo(bruteGauc(scores, labels, groups), 12);
    expect(() => b.update({ preds: [0.1], labels: [1] })).toThrow(
      "Expected group keys (groups) for metric 'grouped_auc' but received undefined",
    );
  });
});

describe('multiclassAuc', () => {
  it('is the mean one-vs-rest AUC (macro) or support-weighted', () => {
    const rng = new SeededRandom(9);
    const n = 300;
    const C = 4;
    const labels = rng.array(n, () => rng.int(C));
    const preds = new Float32Array(n * C);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let c = 0; c < C; c++)
        z += preds[i * C + c] = Math.round(Math.exp(rng.normal() + (labels[i] === c ? 1 : 0)) * 4) / 4;
      for (let c = 0; c < C; c++) preds[i * C + c] /= z;
    }
    const per = Array.from({ length: C }, (_, c) =>
      bruteAuc(
        Array.from({ length: n }, (_, i) => preds[i * C + c]),
        Array.from(labels, (y) => (y === c ? 1 : 0)),
      ),
    );
    const support = Array.from({ length: C }, (_, c) => labels.filter((y) => y === c).length);
    expect(multiclassAuc(preds, labels, C)).toBeCloseTo(per.reduce((a, b) => a + b) / C, 12);
    expect(multiclassAuc(preds, labels, C, null, 'weighted')).toBeCloseTo(
      per.reduce((a, p, c) => a + p * support[c], 0) / n,
      12,
    );
    const m = new MulticlassAucMetric(C);
    m.update({ preds: preds.subarray(0, 100 * C), labels: labels.subarray(0, 100) });
    const m2 = new MulticlassAucMetric(C);
    m2.update({ preds: preds.subarray(100 * C), labels: labels.subarray(100) });
    m.merge(m2.state());
    expect(m.compute()).toBeCloseTo(per.reduce((a, b) => a + b) / C, 12);
    expect(() => m.update({ preds: [0.5, 0.5, 0, 0], labels: [4] })).toThrow(
      "Expected a class id in [0, 4) for labels of metric 'multiclass_auc' but received 4 at sample 0",
    );
  });
});

describe('pointwise metrics', () => {
  const rng = new SeededRandom(21);
  const { scores, labels, weights } = binaryData(rng, 500);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const wmean = (f: (p: number, y: number) => number) =>
    Array.from(scores, (p, i) => weights[i] * f(p, labels[i])).reduce((a, b) => a + b) / wsum;

  it('log loss, MSE, MAE are weighted means, mergeable', () => {
    const ll = (p: number, y: number) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    for (const [M, f] of [
      [LogLossMetric, ll],
      [MeanSquaredErrorMetric, (p: number, y: number) => (p - y) ** 2],
      [MeanAbsoluteErrorMetric, (p: number, y: number) => Math.abs(p - y)],
    ] as const) {
      const a = new M();
      const b = new M();
      a.update({ preds: scores.subarray(0, 200), labels: labels.subarray(0, 200), weights: weights.subarray(0, 200) });
      b.update({ preds: scores.subarray(200), labels: labels.subarray(200), weights: weights.subarray(200) });
      a.merge(b.state());
      expect(a.compute()).toBeCloseTo(wmean(f), 10);
    }
  });
  it('log loss clips probabilities 0 and 1', () => {
    const m = new LogLossMetric();
    m.update({ preds: [0, 1], labels: [1, 0] });
    expect(m.compute()).toBeCloseTo(-Math.log(1.1920929e-7), 6);
  });
  it('normalized entropy divides by the base-rate entropy', () => {
    const p = Array.from(labels, (y, i) => weights[i] * y).reduce((a, b) => a + b) / wsum;
    const h = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    const m = new NormalizedEntropyMetric();
    m.update({ preds: scores, labels, weights });
    expect(m.compute()).toBeCloseTo(wmean((q, y) => -(y * Math.log(q) + (1 - y) * Math.log(1 - q))) / h, 10);
    const base = new NormalizedEntropyMetric();
    base.update({ preds: new Float32Array(500).fill(Math.fround(p)), labels, weights });
    expect(base.compute()).toBeCloseTo(1, 5);
  });
  it('binary accuracy thresholds; multiclass accuracy is top-k with index tie-break', () => {
    const acc = new AccuracyMetric('accuracy', { threshold: 0.5 });
    acc.update({ preds: scores, labels, weights });
    expect(acc.compute()).toBeCloseTo(
      wmean((p, y) => (p >= 0.5 === y > 0.5 ? 1 : 0)),
      10,
    );
    const top2 = new AccuracyMetric('accuracy', { numClasses: 3, topK: 2 });
    top2.update({ preds: [0.5, 0.3, 0.2, 0.2, 0.2, 0.6, 0.4, 0.4, 0.2], labels: [2, 1, 1] });
    // Sample 0: class 2 ranks third → wrong; sample 1: class 1 ties class 0 but 0 < 1, ranks 3rd → wrong; sample 2: ranks 2nd → right.
    expect(top2.compute()).toBeCloseTo(1 / 3, 12);
  });
  it('recall@k counts relevant items in each row top k', () => {
    const m = new RecallAtKMetric(2);
    // Row 0: top2 = {1, 2}, relevant {1, 3} → 1 hit; row 1: top2 = {0, 1} (tie broken by index), relevant {1} → 1 hit.
    m.update({ preds: [0.1, 0.9, 0.8, 0.3, 0.5, 0.5, 0.5, 0.1], labels: [0, 1, 0, 1, 0, 1, 0, 0], columns: 4 });
    expect(m.compute()).toBeCloseTo(2 / 3, 12);
    const rng2 = new SeededRandom(4);
    const B = 30;
    const N = 12;
    const preds = rng2.array(B * N, () => Math.round(rng2.next() * 5));
    const rel = rng2.array(B * N, () => (rng2.next() < 0.2 ? 1 : 0));
    let hits = 0;
    let total = 0;
    for (let b = 0; b < B; b++) {
      const idx = Array.from({ length: N }, (_, j) => j).sort((x, y) => preds[b * N + y] - preds[b * N + x] || x - y);
      idx.slice(0, 5).forEach((j) => (hits += rel[b * N + j]));
      for (let j = 0; j < N; j++) total += rel[b * N + j];
    }
    const r = new RecallAtKMetric(5);
    r.update({ preds, labels: rel, columns: N });
    expect(r.compute()).toBeCloseTo(hits / total, 12);
    expect(() => r.update({ preds, labels: rel })).toThrow(
      "Expected a positive integer for columns (candidates per row) of metric 'recall_at_k' but received undefined",
    );
  });
});

describe('createMetric', () => {
  it('names metrics as TorchEasyRec: type plus tower suffix', () => {
    const auc = createMetric(create(MetricConfigSchema, { metric: { case: 'auc', value: {} } }), { suffix: '_ctr' });
    expect(auc.metric.name).toBe('auc_ctr');
    expect(auc.metric).toBeInstanceOf(AucMetric);
    const g = createMetric(
      create(MetricConfigSchema, { metric: { case: 'groupedAuc', value: { groupingKey: 'user_id' } } }),
    );
    expect(g.metric.name).toBe('grouped_auc');
    expect(g.groupingKey).toBe('user_id');
    expect(
      createMetric(create(MetricConfigSchema, { metric: { case: 'recallAtK', value: { topK: 3 } } })).metric.name,
    ).toBe('recall_at_k');
    expect(
      createMetric(create(MetricConfigSchema, { metric: { case: 'normalizedEntropy', value: {} } })).metric.name,
    ).toBe('normalized_entropy');
    expect(() => createMetric(create(MetricConfigSchema, { metric: { case: 'xauc', value: {} } }))).toThrow(
      "metric 'xauc' is not supported yet",
    );
  });
});
