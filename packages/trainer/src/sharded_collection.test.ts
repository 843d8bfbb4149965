/**
 * Table-wise sharding without mpirun (SimWorld ranks in this process): every rank's pooled output
 * equals the whole collection's forward of its batch, and after the synchronized backward every
 * table on the rank holding it equals the whole collection updated with the global batch (the
 * ranks' batches in rank order, gradients × 1/W) — bit for bit, for random shapes, empty bags, a
 * rank without a batch, per-id weights, co-located tables with two pooled outputs, a shared table,
 * and data-parallel tables mixed in. The planner's placement is checked too.
 */
import { EmbeddingCollection, SimWorld, type SparseBatch } from '@tsrec/native';
import type { EmbeddingCollectionSpec } from '@tsrec/models';

import { ShardedCollection } from './sharded_collection';
import { formatShardingPlan, rankLoads, ShardingPlanner } from './sharding_plan';

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);

function rng(s: number): () => number {
  let x = s >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function spec(rows: number): EmbeddingCollectionSpec {
  return {
    tables: [
      { name: 'a', rows, dim: 8 },
      { name: 'a_wide', rows, dim: 4, coLocateWith: 'a', output: 1 },
      { name: 'b', rows: rows + 3, dim: 5 },
      { name: 'c', rows: 7, dim: 3 },
      { name: 'd', rows: rows * 2, dim: 6 },
    ],
    features: [
      { name: 'fa', table: 'a', pooling: 'sum' },
      { name: 'fb', table: 'b', pooling: 'mean' },
      { name: 'fc', table: 'c', pooling: 'sum' },
      { name: 'fa2', table: 'a', pooling: 'mean' },
      { name: 'fd', table: 'd', pooling: 'sum' },
    ],
  };
}

const OPT = { type: 'rowwise_adagrad' as const, eps: 1e-8 };

/** What buildModel makes on a rank: the tables it holds, each with its index in the whole collection as init stream. */
function localCollection(s: EmbeddingCollectionSpec, held: Set<string>): EmbeddingCollection | null {
  const tables = s.tables.map((t, i) => ({ ...t, initStream: i })).filter((t) => held.has(t.name));
  if (tables.length === 0) return null;
  return new EmbeddingCollection({
    tables,
    features: s.features.filter((f) => held.has(f.table)),
    optimizer: OPT,
    seed: 9,
  });
}

function randomBatch(r: () => number, B: number, s: EmbeddingCollectionSpec, weighted: boolean): SparseBatch {
  const F = s.features.length;
  const rowsOf = (f: number) => s.tables.find((t) => t.name === s.features[f].table)!.rows;
  const offs = new Int32Array(F * B + 1);
  const ids: number[] = [];
  for (let f = 0; f < F; f++)
    for (let b = 0; b < B; b++) {
      const n = Math.floor(r() * 4); // 0..3 ids: empty bags included
      for (let k = 0; k < n; k++) ids.push(Math.floor(r() * rowsOf(f)));
      offs[f * B + b + 1] = ids.length;
    }
  return {
    indices: Int32Array.from(ids),
    offsets: offs,
    weights: weighted ? Float32Array.from(ids, () => r() * 2) : null,
    batchSize: B,
  };
}

function concat(batches: SparseBatch[], F: number): SparseBatch {
  const ids: number[] = [];
  const w: number[] = [];
  const offs = [0];
  for (let f = 0; f < F; f++)
    for (const b of batches)
      for (let s = 0; s < b.batchSize; s++) {
        for (let k = Number(b.offsets[f * b.batchSize + s]); k < Number(b.offsets[f * b.batchSize + s + 1]); k++) {
          ids.push(Number(b.indices[k]));
          if (b.weights) w.push(b.weights[k]);
        }
        offs.push(ids.length);
      }
  return {
    indices: Int32Array.from(ids),
    offsets: Int32Array.from(offs),
    weights: batches.some((b) => b.weights) ? Float32Array.from(w) : null,
    batchSize: batches.reduce((a, b) => a + b.batchSize, 0),
  };
}

describe(`ShardedCollection (seed ${seed})`, () => {
  it.each([
    [2, 'table_wise', false],
    [3, 'table_wise', true],
    [4, 'mixed', true],
    [3, 'mixed', false],
  ])('W=%i (%s, weights %s): forward and update equal the whole collection, bit for bit', async (w, kind, weighted) => {
    const r = rng(seed + w * 7 + (kind === 'mixed' ? 1 : 0));
    const rows = 20 + Math.floor(r() * 30);
    const s = spec(rows);
    const F = s.features.length;
    // Mixed: table d (feature fd) is data-parallel by its constraint.
    const planner = new ShardingPlanner(
      w,
      OPT.type,
      kind === 'mixed' ? [{ feature: 'fd', table: 'd', path: 'p', types: ['data_parallel'] }] : [],
    );
    const plan = planner.place('deep', s);
    expect(plan.find((t) => t.table === 'a_wide')!.rank).toBe(plan.find((t) => t.table === 'a')!.rank);
    expect(plan.find((t) => t.table === 'd')!.placement).toBe(kind === 'mixed' ? 'data_parallel' : 'table_wise');
    const owners = new Map(plan.map((t) => [t.table, t.rank ?? ('all' as const)]));
    const world = new SimWorld(w);
    const locals = Array.from({ length: w }, (_, k) =>
      localCollection(s, new Set(plan.filter((t) => t.rank === null || t.rank === k).map((t) => t.table))),
    );
    const shards = locals.map((c, k) => new ShardedCollection(s, c, owners, world.ranks[k]));
    const reference = new EmbeddingCollection({ tables: s.tables, features: s.features, optimizer: OPT, seed: 9 });
    expect(shards[0].pooledDims).toEqual(reference.pooledDims);
    try {
      for (let step = 0; step < 3; step++) {
        // Rank 1 has no batch in step 1 (it ran dry: it joins with an empty part).
        const batches = shards.map((_, k) =>
          k === 1 && step === 1 ? null : randomBatch(r, 1 + Math.floor(r() * 6), s, weighted),
        );
        await Promise.all(shards.map((c, k) => c.prepare(world.ranks[k], batches[k])));
        const grads = batches.map((b) =>
          b ? reference.pooledDims.map((d) => Float32Array.from({ length: b.batchSize * d }, () => r() - 0.5)) : null,
        );
        shards.forEach((c, k) => {
          const b = batches[k];
          if (!b) return;
          const got = c.forward(b).outputs!;
          const want = reference.forward(b).outputs;
          want.forEach((x, o) =>
            expect({
              step,
              k,
              o,
              same: Buffer.from(got[o].buffer, got[o].byteOffset, got[o].byteLength).equals(Buffer.from(x.buffer)),
            }).toEqual({ step, k, o, same: true }),
          );
          c.backwardAndUpdate(b, grads[k]!, 0.1);
        });
        await Promise.all(shards.map((c, k) => c.synchronize(world.ranks[k])));
        const present = batches.map((b, k) => ({ b, g: grads[k] })).filter((x) => x.b);
        const scaled = reference.pooledDims.map((_, o) => {
          const parts = present.map((x) => x.g![o]);
          const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
          let at = 0;
          for (const p of parts) {
            for (let i = 0; i < p.length; i++) out[at + i] = p[i] * (1 / w);
            at += p.length;
          }
          return out;
        });
        reference.backwardAndUpdate(
          concat(
            present.map((x) => x.b!),
            F,
          ),
          scaled,
          0.1,
        );
      }
      const bytes = (c: EmbeddingCollection, t: string, state?: string) =>
        Buffer.from(c.readRows(t, 0, c.tables.find((x) => x.name === t)!.rows, state).buffer);
      for (const [k, c] of locals.entries())
        for (const t of c?.tables ?? []) {
          expect({ k, t: t.name, same: bytes(c!, t.name).equals(bytes(reference, t.name)) }).toEqual({
            k,
            t: t.name,
            same: true,
          });
          if (t.name !== 'a_wide') expect(bytes(c!, t.name, 'sum').equals(bytes(reference, t.name, 'sum'))).toBe(true);
        }
      // Every table is held somewhere; a data-parallel one everywhere.
      for (const t of s.tables) {
        const holders = locals.filter((c) => c?.tables.some((x) => x.name === t.name)).length;
        expect({ t: t.name, holders }).toEqual({ t: t.name, holders: owners.get(t.name) === 'all' ? w : 1 });
      }
    } finally {
      for (const c of locals) c?.dispose();
      reference.dispose();
    }
  });

  it('a forward or backward of a batch that was not prepared is an error', async () => {
    const s = spec(10);
    const owners = new Map(s.tables.map((t) => [t.name, 0]));
    const world = new SimWorld(1);
    const local = localCollection(s, new Set(s.tables.map((t) => t.name)))!;
    const c = new ShardedCollection(s, local, owners, world.ranks[0]);
    try {
      const b = randomBatch(rng(3), 2, s, false);
      expect(() => c.forward(b)).toThrow(/must be prepared first/);
      await c.prepare(world.ranks[0], b);
      expect(() => c.forward(randomBatch(rng(4), 3, s, false))).toThrow(
        /Expected forward of the batch given to prepare \(2 samples/,
      );
      expect(() => c.backwardAndUpdate(b, [new Float32Array(3), new Float32Array(8)], 0.1)).toThrow(
        /Expected dL\/dpooled\[0\] of 2 × 30 floats but received 3/,
      );
    } finally {
      local.dispose();
    }
  });
});

describe('ShardingPlanner', () => {
  const table = (name: string, rows: number, dim: number) => ({ name, rows, dim });
  it('places the costliest tables first on the least-loaded rank, the same way every time', () => {
    const s: EmbeddingCollectionSpec = {
      tables: [table('t0', 100, 16), table('t1', 50, 8), table('t2', 1000, 32), table('t3', 10, 8), table('t4', 10, 4)],
      features: ['t0', 't1', 't2', 't3', 't4'].map((t) => ({ name: `f_${t}`, table: t, pooling: 'sum' as const })),
    };
    const plan = () => new ShardingPlanner(2, 'rowwise_adagrad').place('deep', s);
    const p = plan();
    // Costs (features × dims): t2 32, t0 16, t1 8, t3 8, t4 4 → t2→0, t0→1, t1→1, t3→1, t4→1 (loads tie: fewer bytes).
    expect(p.map((t) => [t.table, t.rank])).toEqual([
      ['t0', 1],
      ['t1', 1],
      ['t2', 0],
      ['t3', 1],
      ['t4', 1],
    ]);
    expect(plan()).toEqual(p);
    const one = new ShardingPlanner(1, 'sgd').place('deep', s);
    expect(one.every((t) => t.placement === 'data_parallel' && t.rank === null)).toBe(true);
  });

  it('honours constraints, keeps the load across collections, and refuses what it cannot place', () => {
    const planner = new ShardingPlanner(3, 'adam', [
      {
        feature: 'x',
        table: 'tx',
        path: 'feature_configs[0].id_feature.embedding_constraints.sharding_types',
        types: ['data_parallel', 'row_wise'],
      },
    ]);
    const deep = planner.place('deep', {
      tables: [table('tx', 10, 4), table('ty', 20, 8)],
      features: [
        { name: 'x', table: 'tx', pooling: 'sum' },
        { name: 'y', table: 'ty', pooling: 'sum' },
      ],
    });
    expect(deep.map((t) => [t.table, t.placement, t.rank])).toEqual([
      ['tx', 'data_parallel', null],
      ['ty', 'table_wise', 0],
    ]);
    const wide = planner.place('wide', {
      tables: [table('ty_w', 20, 4)],
      features: [{ name: 'y', table: 'ty_w', pooling: 'sum' }],
    });
    expect(wide[0].rank).toBe(1);
    expect(rankLoads(planner.plan).map((l) => l.tables)).toEqual([2, 2, 1]);
    expect(formatShardingPlan(planner.plan)).toEqual([
      'sharding: 2 table-wise and 1 data-parallel tables over 3 ranks',
      expect.stringMatching(/^ {2}rank 0: 2 tables, .* table-wise: ty$/),
      expect.stringMatching(/^ {2}rank 1: 2 tables, .* table-wise: wide\/ty_w$/),
      expect.stringMatching(/^ {2}rank 2: 1 tables, .* table-wise: none$/),
      '  every rank (data_parallel): tx',
    ]);
    const rowWise = new ShardingPlanner(2, 'sgd', [
      { feature: 'x', table: 'tx', path: 'p.sharding_types', types: ['row_wise'] },
    ]);
    expect(() =>
      rowWise.place('deep', { tables: [table('tx', 10, 4)], features: [{ name: 'x', table: 'tx', pooling: 'sum' }] }),
    ).toThrow(
      "Expected the sharding constraints of table 'tx' (collection 'deep'; p.sharding_types) to allow table_wise or data_parallel at 2 ranks, but they allow only row_wise: row-wise placement is not supported yet by tsrec",
    );
  });
});
