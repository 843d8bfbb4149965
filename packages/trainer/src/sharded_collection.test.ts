/**
 * Sharded collections without mpirun (SimWorld ranks in this process): every rank's pooled output
 * equals the whole collection's forward of its batch, and after the synchronized backward every
 * table (or row-wise block) on the rank holding it equals the whole collection updated with the
 * global batch (the ranks' batches in rank order, gradients × 1/W) — bit for bit for table-wise and
 * data-parallel tables, to float rounding for row-wise ones (a bag's sum is taken in pieces) — for
 * random shapes, empty bags, a rank without a batch, per-id weights, co-located tables with two
 * pooled outputs, a shared table, sum and mean. The planner's placement is checked too.
 */
import { EmbeddingCollection, SimWorld, type SparseBatch } from '@tsrec/native';
import type { EmbeddingCollectionSpec } from '@tsrec/models';

import { globalStep, xorshift } from './testing/sparse_batches';

import { localSpec, rowBlock, ShardedCollection, type TablePlace } from './sharded_collection';
import { formatShardingPlan, rankLoads, ShardingPlanner, tablePlace } from './sharding_plan';

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);

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

/** What buildModel makes on a rank: the part of the collection the plan puts there. */
function localCollection(
  s: EmbeddingCollectionSpec,
  places: Map<string, TablePlace>,
  w: number,
  rank: number,
): { collection: EmbeddingCollection | null; firstRows: Map<string, number> } {
  const part = localSpec(s, places, w, rank);
  if (!part) return { collection: null, firstRows: new Map() };
  return {
    collection: new EmbeddingCollection({ tables: part.tables, features: part.features, optimizer: OPT, seed: 9 }),
    firstRows: part.firstRows,
  };
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

describe(`ShardedCollection (seed ${seed})`, () => {
  // mixed: table d (feature fd) data-parallel, b (a mean feature) row-wise, the others table-wise;
  // row_wise: every table in blocks of rows (a shared table, co-located columns, sum and mean).
  const constraints = (kind: string) =>
    kind === 'mixed'
      ? [
          { feature: 'fd', table: 'd', path: 'p', types: ['data_parallel'] },
          { feature: 'fb', table: 'b', path: 'p', types: ['row_wise'] },
        ]
      : kind === 'row_wise'
        ? ['fa', 'fb', 'fc', 'fa2', 'fd'].map((f) => ({ feature: f, table: '', path: 'p', types: ['row_wise'] }))
        : [];
  it.each([
    [2, 'table_wise', false],
    [3, 'table_wise', true],
    [4, 'mixed', true],
    [3, 'mixed', false],
    [2, 'row_wise', true],
    [3, 'row_wise', false],
  ])('W=%i (%s, weights %s): forward and update equal the whole collection', async (w, kind, weighted) => {
    const r = xorshift(seed + w * 7 + kind.length);
    const rows = 20 + Math.floor(r() * 30);
    const s = spec(rows);
    const F = s.features.length;
    const plan = new ShardingPlanner(w, OPT.type, constraints(kind)).place([{ key: 'deep', spec: s }]);
    expect(plan.find((t) => t.table === 'a_wide')!.placement).toBe(plan.find((t) => t.table === 'a')!.placement);
    expect(plan.find((t) => t.table === 'a_wide')!.rank).toBe(plan.find((t) => t.table === 'a')!.rank);
    const places = new Map(plan.map((t) => [t.table, tablePlace(t)]));
    if (kind === 'mixed') expect([places.get('d'), places.get('b')]).toEqual(['all', 'rows']);
    if (kind === 'row_wise') expect(new Set(places.values())).toEqual(new Set(['rows']));
    const rowWise = [...places.values()].includes('rows');
    const world = new SimWorld(w);
    const locals = Array.from({ length: w }, (_, k) => localCollection(s, places, w, k));
    const shards = locals.map((c, k) => new ShardedCollection(s, c.collection, places, world.ranks[k]));
    const reference = new EmbeddingCollection({ tables: s.tables, features: s.features, optimizer: OPT, seed: 9 });
    expect(shards[0].pooledDims).toEqual(reference.pooledDims);
    // Row-wise blocks start from the whole table's rows.
    for (const c of locals)
      for (const [t, first] of c.firstRows) {
        const n = c.collection!.tables.find((x) => x.name === t)!.rows;
        expect(Array.from(c.collection!.readRows(t, 0, n))).toEqual(Array.from(reference.readRows(t, first, n)));
      }
    const same = (a: Float32Array, b: Float32Array, exact: boolean) => {
      if (exact)
        return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
          Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        );
      for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-5 + 1e-5 * Math.abs(b[i])) return false;
      return a.length === b.length;
    };
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
            expect({ step, k, o, same: same(got[o], x, !rowWise) }).toEqual({ step, k, o, same: true }),
          );
          c.backwardAndUpdate(b, grads[k]!, 0.1);
        });
        await Promise.all(shards.map((c, k) => c.synchronize(world.ranks[k])));
        const global = globalStep(batches, grads, reference.pooledDims.length, F, w);
        reference.backwardAndUpdate(global.batch, global.grads, 0.1);
      }
      for (const [k, { collection: c, firstRows }] of locals.entries())
        for (const t of c?.tables ?? []) {
          const first = firstRows.get(t.name) ?? 0;
          const exact = places.get(t.name) !== 'rows';
          for (const st of [undefined, 'sum']) {
            if (st && t.name === 'a_wide') continue; // co-located: its host's row-wise state
            const got = c!.readRows(t.name, 0, t.rows, st);
            const want = reference.readRows(t.name, first, t.rows, st);
            expect({ k, t: t.name, st, same: same(got, want, exact) }).toEqual({ k, t: t.name, st, same: true });
          }
        }
      // Every row is held somewhere: a data-parallel table everywhere, others once.
      for (const t of s.tables) {
        const held = locals.reduce((a, c) => a + (c.collection?.tables.find((x) => x.name === t.name)?.rows ?? 0), 0);
        expect({ t: t.name, held }).toEqual({ t: t.name, held: places.get(t.name) === 'all' ? w * t.rows : t.rows });
      }
    } finally {
      for (const c of locals) c.collection?.dispose();
      reference.dispose();
    }
  });

  it('a forward or backward of a batch that was not prepared is an error', async () => {
    const s = spec(10);
    const owners = new Map<string, TablePlace>(s.tables.map((t) => [t.name, 0]));
    const world = new SimWorld(1);
    const local = localCollection(s, owners, 1, 0).collection!;
    const c = new ShardedCollection(s, local, owners, world.ranks[0]);
    try {
      const b = randomBatch(xorshift(3), 2, s, false);
      expect(() => c.forward(b)).toThrow(/must be prepared first/);
      await c.prepare(world.ranks[0], b);
      expect(() => c.forward(randomBatch(xorshift(4), 3, s, false))).toThrow(
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

test("row blocks are TorchRec's: ceil(rows / W) rows per rank, the last ones shorter or empty", () => {
  expect([0, 1, 2, 3].map((r) => rowBlock(10, 4, r))).toEqual([
    { first: 0, rows: 3 },
    { first: 3, rows: 3 },
    { first: 6, rows: 3 },
    { first: 9, rows: 1 },
  ]);
  expect([0, 1, 2, 3].map((r) => rowBlock(2, 4, r).rows)).toEqual([1, 1, 0, 0]);
});

describe('ShardingPlanner', () => {
  const table = (name: string, rows: number, dim: number) => ({ name, rows, dim });
  const reading = (tables: string[]) => tables.map((t) => ({ name: `f_${t}`, table: t, pooling: 'sum' as const }));
  it("cuts a table over half a rank's table memory into row blocks, then places the costliest on the least-loaded rank", () => {
    const s: EmbeddingCollectionSpec = {
      tables: [table('t0', 100, 16), table('t1', 50, 8), table('t2', 1000, 32), table('t3', 10, 8), table('t4', 10, 4)],
      features: reading(['t0', 't1', 't2', 't3', 't4']),
    };
    const plan = () => new ShardingPlanner(2, 'rowwise_adagrad', [], 200_000).place([{ key: 'deep', spec: s }]);
    const p = plan();
    // 200 kB of tables per rank: t2 (132 kB) is over half of it: row-wise (half of its cost and bytes
    // to each rank). Then by cost
    // (features × dims) t0 16 → rank 0 (tie: rank order), t1 8 → 1, t3 8 → 1, t4 4 → 1 (loads tie: fewer bytes).
    expect(p.map((t) => [t.table, t.placement, t.rank])).toEqual([
      ['t0', 'table_wise', 0],
      ['t1', 'table_wise', 1],
      ['t2', 'row_wise', null],
      ['t3', 'table_wise', 1],
      ['t4', 'table_wise', 1],
    ]);
    expect(p[2].reason).toBe('default: 128.9 KiB, over half the 195.3 KiB of tables a rank may hold');
    // Without the limit every table stays whole; with too little room, where nothing fits it says so.
    expect(
      new ShardingPlanner(2, 'rowwise_adagrad')
        .place([{ key: 'deep', spec: s }])
        .every((t) => t.placement === 'table_wise'),
    ).toBe(true);
    expect(() => new ShardingPlanner(2, 'rowwise_adagrad', [], 50_000).place([{ key: 'deep', spec: s }])).toThrow(
      /Expected the tables to fit in 48\.8 KiB per rank but a rank would hold/,
    );
    const noRowWise = [{ feature: 'f_t2', table: 't2', path: 'p', types: ['table_wise'] }];
    expect(() =>
      new ShardingPlanner(2, 'rowwise_adagrad', noRowWise, 100_000).place([{ key: 'deep', spec: s }]),
    ).toThrow(
      "Expected table 't2' (collection 'deep', 128.9 KiB with optimizer state) to fit on a rank but no rank has room left in its 97.7 KiB for tables (p: add row_wise, use more ranks, or set TSREC_SHARD_MEMORY_GB)",
    );
    expect(plan()).toEqual(p);
    const one = new ShardingPlanner(1, 'sgd').place([{ key: 'deep', spec: s }]);
    expect(one.every((t) => t.placement === 'data_parallel' && t.rank === null)).toBe(true);
    const loads = rankLoads({ worldSize: 2, tables: p });
    expect(loads.map((l) => l.tables)).toEqual([2, 4]);
    expect(loads[0].bytes + loads[1].bytes).toBeCloseTo(
      p.reduce((a, t) => a + t.bytes, 0),
      6,
    );
  });

  it('honours constraints across collections, and refuses what it cannot place', () => {
    const planner = new ShardingPlanner(3, 'adam', [
      { feature: 'x', table: 'tx', path: 'x.sharding_types', types: ['data_parallel', 'row_wise'] },
      { feature: 'z', table: 'tz', path: 'z.sharding_types', types: ['data_parallel'] },
    ]);
    const p = planner.place([
      {
        key: 'deep',
        spec: {
          tables: [table('tx', 10, 4), table('ty', 20, 8), table('tz', 5, 8), table('tu', 20, 8), table('tv', 20, 8)],
          features: [
            { name: 'x', table: 'tx', pooling: 'sum' },
            { name: 'y', table: 'ty', pooling: 'sum' },
            { name: 'z', table: 'tz', pooling: 'sum' },
            { name: 'u', table: 'tu', pooling: 'sum' },
            { name: 'v', table: 'tv', pooling: 'sum' },
          ],
        },
      },
      {
        key: 'wide',
        spec: { tables: [table('ty_w', 20, 4)], features: [{ name: 'y', table: 'ty_w', pooling: 'sum' }] },
      },
    ]);
    expect(p.map((t) => [t.collection, t.table, t.placement, t.rank, t.reason])).toEqual([
      ['deep', 'tx', 'row_wise', null, 'x.sharding_types'],
      ['deep', 'ty', 'table_wise', 2, 'default'],
      ['deep', 'tz', 'data_parallel', null, 'z.sharding_types'],
      ['deep', 'tu', 'table_wise', 0, 'default'],
      ['deep', 'tv', 'table_wise', 1, 'default'],
      ['wide', 'ty_w', 'table_wise', 0, 'default'],
    ]);
    expect(formatShardingPlan(planner.plan)).toEqual([
      'sharding: 4 table-wise, 1 row-wise and 1 data-parallel tables over 3 ranks',
      expect.stringMatching(/^ {2}rank 0: 4 tables, .* table-wise: tu, wide\/ty_w$/),
      expect.stringMatching(/^ {2}rank 1: 3 tables, .* table-wise: tv$/),
      expect.stringMatching(/^ {2}rank 2: 3 tables, .* table-wise: ty$/),
      '  row-wise (blocks of ceil(rows / 3) rows on every rank): tx (x.sharding_types)',
      '  every rank (data_parallel): tz',
    ]);
    const tableRowWise = new ShardingPlanner(2, 'sgd', [
      { feature: 'x', table: 'tx', path: 'p.sharding_types', types: ['table_row_wise'] },
    ]);
    expect(() =>
      tableRowWise.place([
        { key: 'deep', spec: { tables: [table('tx', 10, 4)], features: [{ name: 'x', table: 'tx', pooling: 'sum' }] } },
      ]),
    ).toThrow(
      "Expected the sharding constraints of table 'tx' (collection 'deep'; p.sharding_types) to allow table_wise, row_wise or data_parallel at 2 ranks, but they allow only table_row_wise — add one of them to the list or run one process",
    );
  });
});
