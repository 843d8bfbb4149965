/**
 * Checkpoints of sharded runs without mpirun (SimWorld ranks in this process): written by W ranks
 * (each its tables, rank 0 the data-parallel ones and the dense part), restored at W' = 1, 2, 4
 * with every table and optimizer state bit-equal to what was saved, wherever it now lives; a rank
 * failing to write fails the save on every rank and leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipelineConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';
import { SimWorld } from '@tsrec/native';

import { latestCheckpoint, readManifest, restoreCheckpoint } from './checkpoint';
import { rankPart, saveDistributedCheckpoint } from './distributed_checkpoint';
import { buildModel, type ModelSetup } from './model_setup';
import { localSpec } from './sharded_collection';
import { planSharding, type TablePlacement, tablePlace } from './sharding_plan';

beforeAll(() => setUpTfjs('tsrec'));

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);
const OPT = { type: 'adam' as const };

const config = loadPipelineConfig(`
train_input_path: "t" eval_input_path: "e" model_dir: "m"
train_config {
  sparse_optimizer { adam_optimizer { lr: 0.1 } }
  dense_optimizer { adam_optimizer { lr: 0.01 } }
  num_steps: 1
}
data_config { batch_size: 8 dataset_type: CsvDataset with_header: true label_fields: "label" }
feature_configs { id_feature { feature_name: "a" expression: "user:a" num_buckets: 41 embedding_dim: 8
  embedding_constraints { sharding_types: "row_wise" } } }
feature_configs { id_feature { feature_name: "b" expression: "user:b" num_buckets: 30 embedding_dim: 8 } }
feature_configs { id_feature { feature_name: "c" expression: "user:c" num_buckets: 17 embedding_dim: 8 } }
feature_configs { id_feature { feature_name: "d" expression: "user:d" num_buckets: 9 embedding_dim: 8
  embedding_constraints { sharding_types: "data_parallel" } } }
model_config {
  feature_groups { group_name: "wide" feature_names: ["a", "b", "c", "d"] group_type: WIDE }
  feature_groups { group_name: "deep" feature_names: ["a", "b", "c", "d"] group_type: DEEP }
  deepfm { deep { hidden_units: [4] } }
  losses { binary_cross_entropy {} }
}`);

/** Rank `rank` of `w`: the model with the tables placed on it. */
function rankSetup(w: number, rank: number): { setup: ModelSetup; placed: TablePlacement[] } {
  const placed = planSharding(config, w, OPT).tables;
  const setup = buildModel(config, {
    sparseOptimizer: OPT,
    seed: 1,
    localSpec:
      w === 1
        ? undefined
        : (spec, key) =>
            localSpec(
              spec,
              new Map(placed.filter((t) => t.collection === key).map((t) => [t.table, tablePlace(t)])),
              w,
              rank,
            ),
  });
  return { setup, placed };
}

/** Each table's logical contents (weights and Adam state), random from the seed. */
function truth(setup: ModelSetup, s: number): Map<string, Float32Array> {
  let x = s >>> 0 || 1;
  const next = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296 - 0.5;
  };
  const out = new Map<string, Float32Array>();
  for (const e of setup.collections)
    for (const t of e.spec.tables)
      for (const st of ['', 'exp_avg', 'exp_avg_sq'])
        out.set(`${e.key}/${t.name}/${st}`, Float32Array.from({ length: t.rows * t.dim }, next));
  return out;
}

/** The rows a rank holds of a logical table's values (a row-wise block, or all). */
function rowsOf(values: Float32Array, first: number, rows: number, dim: number): Float32Array {
  return values.subarray(first * dim, (first + rows) * dim);
}

function fill(setup: ModelSetup, values: Map<string, Float32Array>, updates: number): void {
  for (const e of setup.collections) {
    if (!e.collection) continue;
    for (const t of e.collection.tables)
      for (const st of ['', 'exp_avg', 'exp_avg_sq'])
        e.collection.writeRows(
          t.name,
          0,
          rowsOf(values.get(`${e.key}/${t.name}/${st}`)!, e.firstRows.get(t.name) ?? 0, t.rows, t.dim),
          st || undefined,
        );
    e.collection.step = updates;
  }
}

/** Checks every buffer a rank holds against the logical values; returns the rows held per table. */
function expectHeld(
  setup: ModelSetup,
  values: Map<string, Float32Array>,
  updates: number,
  where: string,
): Map<string, number> {
  const held = new Map<string, number>();
  for (const e of setup.collections) {
    if (!e.collection) continue;
    expect(e.collection.step).toBe(updates);
    for (const t of e.collection.tables)
      for (const st of ['', 'exp_avg', 'exp_avg_sq']) {
        const got = Buffer.from(e.collection.readRows(t.name, 0, t.rows, st || undefined).buffer);
        const w = rowsOf(values.get(`${e.key}/${t.name}/${st}`)!, e.firstRows.get(t.name) ?? 0, t.rows, t.dim);
        const want = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
        expect({ where, table: `${e.key}/${t.name}/${st}`, same: got.equals(want) }).toEqual({
          where,
          table: `${e.key}/${t.name}/${st}`,
          same: true,
        });
      }
  }
  for (const e of setup.collections) for (const t of e.collection?.tables ?? []) held.set(`${e.key}/${t.name}`, t.rows);
  return held;
}

describe(`a checkpoint of a sharded run (seed ${seed})`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-distckpt-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([2, 3])('written by %i ranks, restores bit-equal at 1, 2 and 4 ranks', async (W) => {
    const world = new SimWorld(W);
    const ranks = Array.from({ length: W }, (_, r) => rankSetup(W, r));
    const values = truth(ranks[0].setup, seed);
    try {
      for (const { setup } of ranks) fill(setup, values, 7);
      const modelDir = path.join(dir, `md${W}`);
      const refs = await Promise.all(
        ranks.map(({ setup, placed }, r) =>
          saveDistributedCheckpoint(
            world.ranks[r],
            modelDir,
            setup,
            null,
            { step: 5, epoch: 0, consumedBatches: 5, samples: 40 },
            { worldSize: W },
            config,
            rankPart(r, (key, table) => tablePlace(placed.find((t) => t.collection === key && t.table === table)!)),
          ),
        ),
      );
      expect(refs.every((x) => x.path === path.join(modelDir, 'model.ckpt-5'))).toBe(true);
      expect(latestCheckpoint(modelDir)?.step).toBe(5);
      const files = fs.readdirSync(refs[0].path).filter((f) => f.startsWith('sparse_'));
      // Rank 0 writes the data-parallel table d (and its wide columns) with its own; the others theirs.
      expect(files.sort()).toEqual([
        ...Array.from({ length: W - 1 }, (_, r) => `sparse_deep.rank${r + 1}.safetensors`),
        'sparse_deep.safetensors',
      ]);
      const m = readManifest(refs[0].path);
      const d = m.collections[0].tables.find((t) => t.name === 'd')!;
      expect(d.file).toBeUndefined();
      expect(m.collections[0].updates).toBe(7);
      // Table a (41 rows) is row-wise (its constraint): a block of ceil(41 / W) rows per rank.
      const a = m.collections[0].tables.find((t) => t.name === 'a')!;
      expect(a.shards?.map((x) => [x.file, x.firstRow, x.rows])).toEqual(
        W === 3
          ? [
              ['sparse_deep.safetensors', 0, 14],
              ['sparse_deep.rank1.safetensors', 14, 14],
              ['sparse_deep.rank2.safetensors', 28, 13],
            ]
          : [
              ['sparse_deep.safetensors', 0, 21],
              ['sparse_deep.rank1.safetensors', 21, 20],
            ],
      );
      for (const w of [1, 2, 4]) {
        const rows = new Map<string, number>();
        const plan = planSharding(config, w, OPT);
        for (let r = 0; r < w; r++) {
          const { setup } = rankSetup(w, r);
          try {
            restoreCheckpoint(refs[0].path, setup, { optimizerState: true });
            for (const [k, n] of expectHeld(setup, values, 7, `W'=${w} rank ${r}`)) rows.set(k, (rows.get(k) ?? 0) + n);
          } finally {
            setup.dispose();
          }
        }
        // Every row of every table is somewhere (a data-parallel table on every rank).
        for (const t of plan.tables)
          expect({ w, t: t.table, rows: rows.get(`${t.collection}/${t.table}`) }).toEqual({
            w,
            t: t.table,
            rows: t.rows * (w > 1 && t.placement === 'data_parallel' ? w : 1),
          });
        if (w > 1)
          expect(plan.tables.filter((t) => t.placement === 'row_wise').map((t) => t.table)).toEqual(['a', 'a_wide']);
      }
    } finally {
      for (const { setup } of ranks) setup.dispose();
    }
  });

  it('a rank that cannot write fails the save on every rank and leaves nothing behind', async () => {
    const W = 2;
    const world = new SimWorld(W);
    const ranks = Array.from({ length: W }, (_, r) => rankSetup(W, r));
    try {
      const modelDir = path.join(dir, 'md_fail');
      const outcomes = await Promise.allSettled(
        ranks.map(({ setup, placed }, r) => {
          const part = rankPart(r, (key, table) =>
            tablePlace(placed.find((t) => t.collection === key && t.table === table)!),
          );
          // Rank 1's file goes into a folder that does not exist: ENOENT.
          const broken = r === 1 ? { ...part, fileOf: (key: string) => `missing/${part.fileOf(key)}` } : part;
          return saveDistributedCheckpoint(
            world.ranks[r],
            modelDir,
            setup,
            null,
            { step: 3, epoch: 0, consumedBatches: 3, samples: 24 },
            {},
            config,
            broken,
          );
        }),
      );
      for (const [r, o] of outcomes.entries()) {
        expect(o.status).toBe('rejected');
        const msg = (o as PromiseRejectedResult).reason.message as string;
        expect(msg).toMatch(
          r === 1
            ? /^Could not write checkpoint model\.ckpt-3 in '.*' \(rank 1 of 2\): ENOENT/
            : /^rank 1: Could not write checkpoint model\.ckpt-3/,
        );
      }
      expect(fs.readdirSync(modelDir)).toEqual([]);
    } finally {
      for (const { setup } of ranks) setup.dispose();
    }
  });
});
