import { uniformRng } from './bench/workloads';
import {
  alignedFloat32Array,
  EmbeddingCollection,
  OPTIMIZER_STATES,
  type Pooling,
  type SparseBatch,
  type SparseOptimizerType,
  reference,
  setNumThreads,
} from './index';

// Fresh seed per run (printed in the suite name); TSREC_TEST_SEED replays one.
const SEED = Number(process.env.TSREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

const rng = uniformRng;

interface Case {
  coll: EmbeddingCollection;
  state: reference.ReferenceState;
}

function makeCase(r: () => number, type: SparseOptimizerType, T: number, F: number, dims = [4, 8, 16, 20, 32]): Case {
  const tables = Array.from({ length: T }, (_, i) => ({
    name: `t${i}`,
    rows: 1 + Math.floor(r() * 40),
    dim: dims[Math.floor(r() * dims.length)],
  }));
  const poolings: Pooling[] = ['sum', 'mean', 'none'];
  const features = Array.from({ length: F }, (_, i) => ({
    name: `f${i}`,
    table: i < T ? i : Math.floor(r() * T),
    pooling: poolings[Math.floor(r() * 3)],
  }));
  const modes = ['none', 'l2', 'decouple'] as const;
  const mode = modes[Math.floor(r() * 3)];
  const coll = new EmbeddingCollection({
    tables,
    features,
    optimizer: {
      type,
      weightDecayMode: mode,
      weightDecay: mode === 'none' ? 0 : 0.01,
      maxGradient: r() < 0.5 ? 0.05 : 0,
      maxNorm: r() < 0.3 ? 0.05 : 0,
      initialAccumulatorValue: r() < 0.5 ? 0.1 : 0,
    },
    seed: Math.floor(r() * 1e9),
  });
  const state: reference.ReferenceState = {
    weights: tables.map((_, t) => coll.readRows(t, 0, tables[t].rows)),
    states: tables.map((_, t) => coll.stateNames.map((s) => coll.readRows(t, 0, tables[t].rows, s))),
    step: 0,
  };
  return { coll, state };
}

function randomBatch(
  r: () => number,
  coll: EmbeddingCollection,
  B: number,
  maxBag: number,
  opts: { int64?: boolean; weighted?: boolean },
): SparseBatch {
  const ids: number[] = [];
  const offs = [0];
  for (const f of coll.features) {
    const rows = coll.tables[f.table].rows;
    for (let b = 0; b < B; b++) {
      const len = Math.floor(r() * (maxBag + 1));
      for (let i = 0; i < len; i++)
        ids.push(r() < 0.3 ? Math.floor(r() * Math.min(rows, 3)) : r() > 0.95 ? rows - 1 : Math.floor(r() * rows));
      offs.push(ids.length);
    }
  }
  return {
    indices: opts.int64 ? BigInt64Array.from(ids.map(BigInt)) : Int32Array.from(ids),
    offsets: opts.int64 ? BigInt64Array.from(offs.map(BigInt)) : Int32Array.from(offs),
    weights: opts.weighted ? Float32Array.from(ids, (_, i) => (i % 7 === 0 ? 0 : r() * 4 - 2)) : null,
    batchSize: B,
  };
}

function expectClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol + tol * Math.abs(expected[i]))) {
      throw new Error(`${what}[${i}]: native ${actual[i]} vs reference ${expected[i]} (seed ${SEED})`);
    }
  }
}

describe(`EmbeddingCollection vs the TS reference (seed ${SEED})`, () => {
  const types: SparseOptimizerType[] = ['sgd', 'adagrad', 'rowwise_adagrad', 'adam'];
  test.each(types)('%s: pooled outputs, weights and optimizer state over 3 steps on random shapes', (type) => {
    const r = rng(SEED + types.indexOf(type));
    for (let trial = 0; trial < 6; trial++) {
      const T = 1 + Math.floor(r() * 3);
      const { coll, state } = makeCase(r, type, T, T + Math.floor(r() * 2));
      for (let step = 0; step < 3; step++) {
        const batch = randomBatch(r, coll, 1 + Math.floor(r() * 12), Math.floor(r() * 5), {
          int64: r() < 0.5,
          weighted: r() < 0.5,
        });
        const out = coll.forward(batch);
        const ref = reference.forward(coll, state.weights, batch);
        expectClose(out.pooled, ref.pooled, 1e-5, 'pooled');
        expectClose(out.sequence, ref.sequence, 1e-6, 'sequence');
        const gp = Float32Array.from({ length: out.pooled.length }, () => r() * 0.4 - 0.2);
        const gs = Float32Array.from({ length: out.sequence.length }, () => r() * 0.4 - 0.2);
        coll.backwardAndUpdate(batch, gp, 0.05, gs);
        reference.backwardAndUpdate(coll, coll.optimizer, state, batch, gp, gs, 0.05);
        coll.tables.forEach((t, ti) => {
          expectClose(
            coll.readRows(ti, 0, t.rows),
            state.weights[ti],
            2e-5,
            `${type} step ${step} table ${t.name} weights`,
          );
          coll.stateNames.forEach((s, k) =>
            expectClose(coll.readRows(ti, 0, t.rows, s), state.states[ti][k], 2e-5, `${type} ${s}`),
          );
        });
      }
      expect(coll.step).toBe(3);
      coll.dispose();
    }
  });

  // TorchEasyRec accepts any embedding_dim >= 1 (a wide_embedding_dim of 1 is common): the CPU
  // kernels take any width, checked here for every optimizer at the odd ones.
  test.each(types)('%s at dims 1, 2, 3, 5 and 7: forward, backward and state equal the reference', (type) => {
    const r = rng(SEED + 40 + types.indexOf(type));
    for (const dim of [1, 2, 3, 5, 7]) {
      const { coll, state } = makeCase(r, type, 2, 3, [dim]);
      for (let step = 0; step < 3; step++) {
        const batch = randomBatch(r, coll, 1 + Math.floor(r() * 9), 1 + Math.floor(r() * 4), { weighted: r() < 0.5 });
        const out = coll.forward(batch);
        const ref = reference.forward(coll, state.weights, batch);
        expectClose(out.pooled, ref.pooled, 1e-5, `dim ${dim} pooled`);
        expectClose(out.sequence, ref.sequence, 1e-6, `dim ${dim} sequence`);
        const gp = Float32Array.from({ length: out.pooled.length }, () => r() * 0.4 - 0.2);
        const gs = Float32Array.from({ length: out.sequence.length }, () => r() * 0.4 - 0.2);
        coll.backwardAndUpdate(batch, gp, 0.05, gs);
        reference.backwardAndUpdate(coll, coll.optimizer, state, batch, gp, gs, 0.05);
        coll.tables.forEach((t, ti) => {
          expectClose(coll.readRows(ti, 0, t.rows), state.weights[ti], 2e-5, `${type} dim ${dim} weights`);
          coll.stateNames.forEach((s, k) =>
            expectClose(coll.readRows(ti, 0, t.rows, s), state.states[ti][k], 2e-5, `${type} dim ${dim} ${s}`),
          );
        });
      }
      expect(coll.pooledDim).toBe(coll.features.filter((f) => f.pooling !== 'none').length * dim);
      coll.dispose();
    }
  });

  test('MEAN with empty bags gives zeros; rows absent from the batch are untouched', () => {
    const coll = new EmbeddingCollection({
      tables: [{ name: 'item', rows: 10, dim: 4, pooling: 'mean' }],
      optimizer: { type: 'rowwise_adagrad' },
      seed: 3,
    });
    const before = coll.readRows('item', 0, 10);
    const batch = { indices: Int32Array.from([3, 3]), offsets: Int32Array.from([0, 0, 2, 2]), batchSize: 3 };
    const { pooled } = coll.forward(batch);
    expect(Array.from(pooled.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(pooled.subarray(8, 12))).toEqual([0, 0, 0, 0]);
    expectClose(pooled.subarray(4, 8), before.subarray(12, 16), 1e-7, 'mean of a duplicated id');
    coll.backwardAndUpdate(batch, new Float32Array(12).fill(1), 0.1);
    const after = coll.readRows('item', 0, 10);
    const sum = coll.readRows('item', 0, 10, 'sum');
    for (let row = 0; row < 10; row++) {
      if (row === 3) continue;
      expect(Array.from(after.subarray(row * 4, row * 4 + 4))).toEqual(
        Array.from(before.subarray(row * 4, row * 4 + 4)),
      );
      expect(sum[row]).toBe(0);
    }
    expect(sum[3]).toBeCloseTo(1, 6); // g = 1/2 + 1/2 per element, mean(g^2) = 1
  });

  test('shared tables: two features reading one table are deduplicated into one update', () => {
    const mk = () =>
      new EmbeddingCollection({
        tables: [{ name: 'ids', rows: 5, dim: 8 }],
        features: [
          { name: 'user_click', table: 'ids', pooling: 'sum' },
          { name: 'user_buy', table: 'ids', pooling: 'sum' },
        ],
        optimizer: { type: 'rowwise_adagrad' },
        seed: 1,
      });
    const a = mk();
    const batch = { indices: Int32Array.from([2, 2]), offsets: Int32Array.from([0, 1, 2]), batchSize: 1 };
    expect(a.pooledDim).toBe(16);
    a.backwardAndUpdate(batch, new Float32Array(16).fill(0.5), 0.1);
    // One unique row: its gradient is 0.5 + 0.5 = 1 per element, so the row state is exactly 1.
    expect(a.readRows('ids', 2, 1, 'sum')[0]).toBeCloseTo(1, 6);
  });

  test('same seed and data give bit-identical tables for 1 and 2 threads', () => {
    const run = (threads: number) => {
      setNumThreads(threads);
      const c = new EmbeddingCollection({
        tables: [
          { name: 'a', rows: 500, dim: 16 },
          { name: 'b', rows: 300, dim: 8 },
        ],
        optimizer: { type: 'adam' },
        seed: 9,
      });
      const r = rng(5);
      for (let s = 0; s < 3; s++) {
        const batch = randomBatch(r, c, 800, 4, {});
        const gp = Float32Array.from({ length: 800 * c.pooledDim }, () => r() - 0.5);
        c.backwardAndUpdate(batch, gp, 0.01);
      }
      return [c.readRows('a', 0, 500), c.readRows('b', 0, 300, 'exp_avg_sq')];
    };
    const one = run(1);
    const two = run(2);
    setNumThreads(0);
    expect(Buffer.from(one[0].buffer).equals(Buffer.from(two[0].buffer))).toBe(true);
    expect(Buffer.from(one[1].buffer).equals(Buffer.from(two[1].buffer))).toBe(true);
  });
});

describe('aligned outputs', () => {
  test('alignedFloat32Array: zeroed, 64-byte aligned; forward into it equals the reference', () => {
    const a = alignedFloat32Array(1000);
    expect(a.length).toBe(1000);
    expect(Array.from(a).every((x) => x === 0)).toBe(true);
    expect(a.byteOffset).toBe(0);
    expect(() => alignedFloat32Array(-1)).toThrow(
      'Expected an integer in [0, 2^40] for length but received -1 of type number',
    );
    const c = new EmbeddingCollection({
      tables: [
        { name: 'a', rows: 300, dim: 16 },
        { name: 'b', rows: 50, dim: 64, pooling: 'mean' },
      ],
      optimizer: { type: 'sgd' },
      seed: 4,
    });
    const r = rng(SEED + 11);
    const batch = randomBatch(r, c, 900, 3, { weighted: true });
    const pooled = alignedFloat32Array(900 * c.pooledDim).fill(-3);
    c.forward(batch, { pooled });
    const ref = reference.forward(c, [c.readRows('a', 0, 300), c.readRows('b', 0, 50)], batch);
    expectClose(pooled, ref.pooled, 1e-5, 'aligned pooled');
  });
});

describe('EmbeddingCollection memory', () => {
  test('no growth across steps: tables live natively, workspaces are reused', () => {
    const c = new EmbeddingCollection({
      tables: [
        { name: 'a', rows: 20000, dim: 16 },
        { name: 'b', rows: 5000, dim: 32, pooling: 'mean' },
      ],
      optimizer: { type: 'adam' },
    });
    const r = rng(SEED);
    const batches = [0, 1, 2].map(() => randomBatch(r, c, 2048, 6, { weighted: true }));
    const pooled = new Float32Array(2048 * c.pooledDim);
    const grad = Float32Array.from({ length: pooled.length }, () => r() - 0.5);
    const step = (i: number) => {
      const b = batches[i % 3];
      c.forward(b, { pooled });
      c.backwardAndUpdate(b, grad, 1e-3);
    };
    for (let i = 0; i < 50; i++) step(i);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) step(i);
    const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
    expect(grownMb).toBeLessThan(16);
    expect(c.memoryBytes()).toBe((20000 * 16 + 5000 * 32) * 4 * 3);
  });
});

describe('EmbeddingCollection accessors', () => {
  test('zero-copy views alias native memory and outlive dispose()', () => {
    const c = new EmbeddingCollection({
      tables: [{ name: 't', rows: 4, dim: 4 }],
      optimizer: { type: 'adagrad', initialAccumulatorValue: 0.5 },
      seed: 1,
    });
    const v = c.view('t');
    expect(v.length).toBe(16);
    c.writeRows('t', 1, Float32Array.from([1, 2, 3, 4]));
    expect(Array.from(v.subarray(4, 8))).toEqual([1, 2, 3, 4]);
    v[0] = 42;
    expect(c.readRows('t', 0, 1)[0]).toBe(42);
    expect(Array.from(c.view('t', 'sum'))).toEqual(new Array(16).fill(0.5));
    expect(c.memoryBytes()).toBe(2 * 16 * 4);
    c.dispose();
    expect(v[0]).toBe(42);
    expect(() => c.readRows('t', 0, 1)).toThrow('this EmbeddingCollection was disposed');
  });

  test('seeded initialisation: uniform(+-1/sqrt(rows)) by default, same seed same values', () => {
    const mk = (seed: number) =>
      new EmbeddingCollection({ tables: [{ name: 't', rows: 400, dim: 8 }], optimizer: { type: 'sgd' }, seed });
    const a = mk(7).readRows('t', 0, 400);
    expect(Array.from(a).every((x) => x >= -0.05 && x < 0.05)).toBe(true);
    expect(Array.from(mk(7).readRows('t', 0, 400))).toEqual(Array.from(a));
    expect(Array.from(mk(8).readRows('t', 0, 400))).not.toEqual(Array.from(a));
  });

  test('a part of a collection starts from the bits of the whole (initStream, initFirstRow, initRows)', () => {
    // What a rank of a sharded run holds: one table of three (table-wise), or rows of one (row-wise),
    // co-located tables included, for every optimizer's state.
    const whole = (type: SparseOptimizerType) =>
      new EmbeddingCollection({
        tables: [
          { name: 'a', rows: 50, dim: 3 },
          { name: 'b', rows: 37, dim: 8 },
          { name: 'b_wide', rows: 37, dim: 2, output: 1, coLocateWith: 'b' },
        ],
        features: [
          { name: 'fa', table: 'a' },
          { name: 'fb', table: 'b' },
        ],
        optimizer: { type, initialAccumulatorValue: 0.5 },
        seed: 11,
      });
    for (const type of ['sgd', 'adagrad', 'rowwise_adagrad', 'adam'] as const) {
      const w = whole(type);
      const tw = new EmbeddingCollection({
        tables: [
          { name: 'b', rows: 37, dim: 8, initStream: 1 },
          { name: 'b_wide', rows: 37, dim: 2, output: 1, coLocateWith: 'b', initStream: 2 },
        ],
        features: [{ name: 'fb', table: 'b' }],
        optimizer: { type, initialAccumulatorValue: 0.5 },
        seed: 11,
      });
      for (const t of ['b', 'b_wide']) {
        expect(Array.from(tw.readRows(t, 0, 37))).toEqual(Array.from(w.readRows(t, 0, 37)));
        for (const s of w.stateNames)
          expect(Array.from(tw.readRows(t, 0, 37, s))).toEqual(Array.from(w.readRows(t, 0, 37, s)));
      }
      const rw = new EmbeddingCollection({
        tables: [{ name: 'a', rows: 13, dim: 3, initStream: 0, initFirstRow: 26, initRows: 50 }],
        optimizer: { type, initialAccumulatorValue: 0.5 },
        seed: 11,
      });
      expect(Array.from(rw.readRows('a', 0, 13))).toEqual(Array.from(w.readRows('a', 26, 13)));
      for (const s of w.stateNames)
        expect(Array.from(rw.readRows('a', 0, 13, s))).toEqual(Array.from(w.readRows('a', 26, 13, s)));
      for (const c of [w, tw, rw]) c.dispose();
    }
    const bad = (t: object) => () =>
      new EmbeddingCollection({ tables: [{ name: 't', rows: 10, dim: 2, ...t }], optimizer: { type: 'sgd' } });
    expect(bad({ initFirstRow: 1 })).toThrow('initFirstRow');
    expect(bad({ initRows: 15, initFirstRow: 6 })).toThrow('initFirstRow');
    expect(bad({ initRows: 9 })).toThrow('initRows');
    expect(bad({ initStream: -1 })).toThrow('initStream');
  });

  test('step is readable and restorable (checkpoints)', () => {
    const c = new EmbeddingCollection({ tables: [{ name: 't', rows: 4, dim: 4 }], optimizer: { type: 'adam' } });
    c.step = 17;
    expect(c.step).toBe(17);
    expect(OPTIMIZER_STATES.adam.map((s) => s.name)).toEqual(c.stateNames);
  });
});

describe('EmbeddingCollection rejects bad input with a message naming the culprit', () => {
  const mk = () =>
    new EmbeddingCollection({
      tables: [
        { name: 'user', rows: 100, dim: 4 },
        { name: 'item', rows: 50, dim: 8, pooling: 'mean' },
      ],
      optimizer: { type: 'rowwise_adagrad' },
    });
  const batch = (indices: number[], offsets: number[], B = 2): SparseBatch => ({
    indices: Int32Array.from(indices),
    offsets: Int32Array.from(offsets),
    batchSize: B,
  });

  test('out-of-range id: feature, table, position, sample and value; memory untouched', () => {
    const c = mk();
    const before = c.readRows('item', 0, 50);
    const bad = batch([1, 2, 3, 50], [0, 1, 2, 3, 4]);
    expect(() => c.forward(bad)).toThrow(
      "index 50 at position 3 is out of range for feature 'item' (table 'item', sample 1): expected 0 <= index < 50",
    );
    expect(() => c.backwardAndUpdate(bad, new Float32Array(24), 0.1)).toThrow('index 50 at position 3');
    expect(Array.from(c.readRows('item', 0, 50))).toEqual(Array.from(before));
    expect(c.step).toBe(0);
  });

  test.each([NaN, Infinity, -Infinity])('a %s gradient is refused before any row or optimizer state changes', (v) => {
    const c = mk();
    const b = batch([1, 2, 3, 4], [0, 1, 2, 3, 4]);
    const snapshot = () => ['user', 'item'].flatMap((t) => [c.readRows(t, 0, 50), c.readRows(t, 0, 50, 'sum')]);
    const before = snapshot().map((a) => Array.from(a));
    const grad = new Float32Array(2 * 12).fill(0.5);
    grad[12 + 5] = v; // sample 1, column 5 (the item table's second column)
    expect(() => c.backwardAndUpdate(b, grad, 0.1)).toThrow(
      `Expected finite gradients but pooled gradient 0 holds ${String(v).toLowerCase().replace('infinity', 'inf')} at sample 1, column 5; no row was updated`,
    );
    expect(snapshot().map((a) => Array.from(a))).toEqual(before);
    expect(c.step).toBe(0);
  });

  test('negative id, int64 huge id', () => {
    const c = mk();
    expect(() => c.forward(batch([1, -4, 3, 5], [0, 1, 2, 3, 4]))).toThrow(
      "negative index -4 at position 1 is out of range for feature 'user' (table 'user', sample 1)",
    );
    const huge = {
      indices: BigInt64Array.from([1n, 2n, 3n, 2n ** 40n]),
      offsets: BigInt64Array.from([0n, 1n, 2n, 3n, 4n]),
      batchSize: 2,
    };
    expect(() => c.forward(huge)).toThrow(`index ${2 ** 40} at position 3 is out of range for feature 'item'`);
  });

  test('offsets: wrong length, non-monotonic, bad first and last', () => {
    const c = mk();
    expect(() => c.forward(batch([1, 2, 3, 5], [0, 1, 2, 3]))).toThrow(
      'Expected length F*B+1 = 5 (F=2 features, B=2) for batch.offsets but received Int32Array(4) of type Int32Array',
    );
    expect(() => c.forward(batch([1, 2, 3, 5], [0, 2, 1, 3, 4]))).toThrow(
      "offsets must be non-decreasing: offsets[2] = 1 is less than offsets[1] = 2 (feature 'user' (table 'user', sample 1))",
    );
    expect(() => c.forward(batch([1, 2, 3, 5], [1, 1, 2, 3, 4]))).toThrow('Expected offsets[0] == 0 but received 1');
    expect(() => c.forward(batch([1, 2, 3, 5], [0, 1, 2, 3, 3]))).toThrow(
      'Expected offsets[4] (the last offset) == number of indices 4 but received 3',
    );
  });

  test('dtypes and lengths of every argument', () => {
    const c = mk();
    const ok = batch([1, 2, 3, 5], [0, 1, 2, 3, 4]);
    expect(() => c.forward({ ...ok, indices: Float32Array.from([1, 2, 3, 5]) as unknown as Int32Array })).toThrow(
      'Expected an Int32Array or BigInt64Array for batch.indices but received Float32Array(4) of type Float32Array',
    );
    expect(() => c.forward({ ...ok, indices: [1, 2, 3, 5] as unknown as Int32Array })).toThrow(
      'Expected an Int32Array or BigInt64Array for batch.indices but received array(4) of type object',
    );
    expect(() => c.forward({ ...ok, weights: new Float32Array(3) })).toThrow(
      'Expected null or a Float32Array of length 4 (one per index) for batch.weights but received Float32Array(3) of type Float32Array',
    );
    expect(() => c.forward({ ...ok, batchSize: 1.5 })).toThrow(
      'Expected an integer in [0, 2147483647] for batch.batchSize but received 1.5 of type number',
    );
    expect(() => c.backwardAndUpdate(ok, new Float32Array(23), 0.1)).toThrow(
      'Expected a Float32Array of length batchSize*pooledDim = 24 for gradPooled but received Float32Array(23) of type Float32Array',
    );
    expect(() => c.backwardAndUpdate(ok, new Float32Array(24), NaN)).toThrow(
      'Expected a finite number for lr but received NaN of type number',
    );
    expect(() => c.readRows('nope', 0, 1)).toThrow(
      'Expected a table name or index of this collection (user, item) for table but received "nope" of type string',
    );
    expect(() => c.readRows('user', 0, 1, 'exp_avg')).toThrow(
      'Expected one of weights, sum (optimizer rowwise_adagrad) for state but received "exp_avg" of type string',
    );
    expect(() => c.readRows('user', 99, 2)).toThrow(
      'Expected an integer in [0, 1] for count but received 2 of type number',
    );
  });

  test('bad configs', () => {
    expect(
      () => new EmbeddingCollection({ tables: [{ name: 'x', rows: 10, dim: 0 }], optimizer: { type: 'sgd' } }),
    ).toThrow("Expected an integer in [1, 65536] for options.tables[0].dim (table 'x') but received 0 of type number");
    expect(
      () =>
        new EmbeddingCollection({
          tables: [{ name: 'x', rows: 10, dim: 6 }],
          optimizer: { type: 'sgd' },
          device: 'cuda',
        }),
    ).toThrow(
      "Expected a multiple of 4 on device 'cuda' (other dims run on device 'cpu') for options.tables[0].dim (table 'x') but received 6 of type number",
    );
    expect(
      () => new EmbeddingCollection({ tables: [{ name: 'x', rows: 0, dim: 4 }], optimizer: { type: 'sgd' } }),
    ).toThrow(
      "Expected an integer in [1, 4294967295] for options.tables[0].rows (table 'x') but received 0 of type number",
    );
    expect(
      () =>
        new EmbeddingCollection({
          tables: [{ name: 'x', rows: 10, dim: 4 }],
          optimizer: { type: 'lamb' as SparseOptimizerType },
        }),
    ).toThrow(
      'Expected one of sgd, adagrad, rowwise_adagrad, adam for options.optimizer.type but received "lamb" of type string',
    );
    expect(
      () =>
        new EmbeddingCollection({
          tables: [{ name: 'x', rows: 10, dim: 4 }],
          features: [{ name: 'f', table: 'y' }],
          optimizer: { type: 'sgd' },
        }),
    ).toThrow(
      'Expected a table name or index of this collection for options.features[0].table (feature \'f\') but received "y" of type string',
    );
    expect(
      () =>
        new EmbeddingCollection({
          tables: [{ name: 'x', rows: 10, dim: 4 }],
          optimizer: { type: 'sgd' },
          device: 'cuda',
        }),
    ).toThrow(/device 'cuda' is not available|CUDA/);
  });

  test('native errors carry the caller stack', () => {
    const c = mk();
    let err: Error | undefined;
    try {
      c.forward(batch([1, 2, 3, 50], [0, 1, 2, 3, 4]));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.stack).toContain('embedding_collection.test.ts');
    expect((err as Error & { code?: string }).code).toBe('ERR_TSREC_OUT_OF_RANGE');
  });
});

describe(`co-located tables (seed ${SEED})`, () => {
  // DeepFM's layout: per feature a deep table (output 0) and a `_wide` table in its rows (output 1).
  const deepWide = (coLocate: boolean, type: SparseOptimizerType) => {
    const tables = [
      { name: 'a', rows: 60, dim: 16 },
      { name: 'b', rows: 9, dim: 8 },
      { name: 'a_wide', rows: 60, dim: 4, output: 1, ...(coLocate ? { coLocateWith: 'a' } : {}) },
      { name: 'b_wide', rows: 9, dim: 4, output: 1, ...(coLocate ? { coLocateWith: 'b' } : {}) },
    ];
    return new EmbeddingCollection({
      tables,
      features: [
        { name: 'fa', table: 'a' },
        { name: 'fb', table: 'b', pooling: 'mean' },
      ],
      optimizer: { type, weightDecayMode: 'l2', weightDecay: 0.01 },
      seed: 4,
    });
  };
  const separate = (type: SparseOptimizerType) => ({
    deep: new EmbeddingCollection({
      tables: [
        { name: 'a', rows: 60, dim: 16 },
        { name: 'b', rows: 9, dim: 8 },
      ],
      features: [
        { name: 'fa', table: 'a' },
        { name: 'fb', table: 'b', pooling: 'mean' },
      ],
      optimizer: { type, weightDecayMode: 'l2', weightDecay: 0.01 },
      seed: 1,
    }),
    wide: new EmbeddingCollection({
      tables: [
        { name: 'a_wide', rows: 60, dim: 4 },
        { name: 'b_wide', rows: 9, dim: 4 },
      ],
      features: [
        { name: 'fa', table: 'a_wide' },
        { name: 'fb', table: 'b_wide', pooling: 'mean' },
      ],
      optimizer: { type, weightDecayMode: 'l2', weightDecay: 0.01 },
      seed: 2,
    }),
  });
  const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

  test.each(['sgd', 'adagrad', 'rowwise_adagrad', 'adam'] as const)(
    '%s: outputs, weights and state bit-identical to separate collections',
    (type) => {
      const co = deepWide(true, type);
      const sep = separate(type);
      expect(co.pooledDims).toEqual([24, 8]);
      expect(co.features[1].members).toEqual([
        { table: 1, output: 0, offset: 16 },
        { table: 3, output: 1, offset: 4 },
      ]);
      // Same starting point: copy the co-located collection's initial tables into the separate ones.
      for (const [c, names] of [
        [sep.deep, ['a', 'b']],
        [sep.wide, ['a_wide', 'b_wide']],
      ] as const) {
        for (const n of names) c.writeRows(n, 0, co.readRows(n, 0, co.tables.find((t) => t.name === n)!.rows));
      }
      const r = rng(SEED);
      for (let step = 0; step < 3; step++) {
        const batch = randomBatch(r, co, 300, 3, { weighted: step === 1 });
        const { outputs } = co.forward(batch);
        expect(bits(outputs[0]).equals(bits(sep.deep.forward(batch).pooled))).toBe(true);
        expect(bits(outputs[1]).equals(bits(sep.wide.forward(batch).pooled))).toBe(true);
        const g0 = Float32Array.from({ length: outputs[0].length }, () => r() - 0.5);
        const g1 = Float32Array.from({ length: outputs[1].length }, () => r() - 0.5);
        co.backwardAndUpdate(batch, [g0, g1], 0.05);
        sep.deep.backwardAndUpdate(batch, g0, 0.05);
        sep.wide.backwardAndUpdate(batch, g1, 0.05);
      }
      for (const [c, names] of [
        [sep.deep, ['a', 'b']],
        [sep.wide, ['a_wide', 'b_wide']],
      ] as const) {
        for (const n of names) {
          const rows = co.tables.find((t) => t.name === n)!.rows;
          expect(bits(co.readRows(n, 0, rows)).equals(bits(c.readRows(n, 0, rows)))).toBe(true);
          for (const s of co.stateNames)
            expect(bits(co.readRows(n, 0, rows, s)).equals(bits(c.readRows(n, 0, rows, s)))).toBe(true);
        }
      }
      [co, sep.deep, sep.wide].forEach((c) => c.dispose());
    },
  );

  test('views: state yes, interleaved weights no (readRows instead)', () => {
    const co = deepWide(true, 'rowwise_adagrad');
    expect(co.viewable('a')).toBe(false);
    expect(co.viewable('a_wide')).toBe(false);
    expect(co.viewable('a_wide', 'sum')).toBe(true);
    expect(() => co.view('a_wide')).toThrow(
      "the weights of table 'a_wide' share rows with co-located tables: read them with readRows",
    );
    expect(co.view('a_wide', 'sum').length).toBe(60);
    expect(deepWide(false, 'sgd').viewable('a')).toBe(true);
    co.dispose();
  });

  test('bad co-location is rejected with the table and field named', () => {
    const mk = (tables: object[], features?: object[]) => () =>
      new EmbeddingCollection({ tables, features, optimizer: { type: 'sgd' } } as never);
    expect(
      mk([
        { name: 'a', rows: 5, dim: 4 },
        { name: 'w', rows: 5, dim: 4, coLocateWith: 'nope' },
      ]),
    ).toThrow("options.tables[1].coLocateWith (table 'w')");
    expect(
      mk([
        { name: 'a', rows: 5, dim: 4 },
        { name: 'w', rows: 6, dim: 4, coLocateWith: 'a' },
      ]),
    ).toThrow("options.tables[1].rows (table 'w')");
    expect(
      mk(
        [
          { name: 'a', rows: 5, dim: 4 },
          { name: 'w', rows: 5, dim: 4, coLocateWith: 'a' },
        ],
        [{ name: 'x', table: 'w' }],
      ),
    ).toThrow("'w' is co-located with 'a': read the host");
    expect(
      mk([
        { name: 'a', rows: 5, dim: 4 },
        { name: 'w', rows: 5, dim: 4, output: 9 },
      ]),
    ).toThrow("options.tables[1].output (table 'w')");
    const co = deepWide(true, 'sgd');
    const batch = { indices: Int32Array.from([1, 2]), offsets: Int32Array.from([0, 1, 2]), batchSize: 1 };
    expect(() => co.backwardAndUpdate(batch, new Float32Array(24), 0.1)).toThrow(
      'an array of 2 Float32Arrays (one per pooled output)',
    );
    expect(() => co.backwardAndUpdate(batch, [new Float32Array(24), new Float32Array(7)], 0.1)).toThrow(
      'gradPooled[1]',
    );
    co.dispose();
  });
});
