import { loadPipelineConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { formatPlan, planDistributed } from './plan';

// `tsrec plan`: the sharding plan and the formulas of the trainer's collectives, on a config whose
// tables are too big to allocate here (so the plan must not allocate them); the dist tests and
// trainer:bench-dist compare them with np 2 / 4 runs.
beforeAll(() => setUpTfjs('tsrec'));

/** DeepFM over two id features, one of 2^31-1 rows (16 dims: ~128 GiB with row-wise state). */
const text = (constraint = '') => `
train_input_path: "t" eval_input_path: "e" model_dir: "m"
train_config { sparse_optimizer { rowwise_adagrad_optimizer { lr: 0.1 } } dense_optimizer { adam_optimizer { lr: 0.01 } } num_steps: 1 ${constraint} }
data_config { batch_size: 1000 dataset_type: CsvDataset with_header: true label_fields: "label" }
feature_configs { id_feature { feature_name: "a" expression: "user:a" num_buckets: 2147483647 embedding_dim: 16 } }
feature_configs { id_feature { feature_name: "b" expression: "user:b" num_buckets: 30 embedding_dim: 16 } }
model_config {
  feature_groups { group_name: "wide" feature_names: ["a", "b"] group_type: WIDE }
  feature_groups { group_name: "deep" feature_names: ["a", "b"] group_type: DEEP }
  deepfm { deep { hidden_units: [4] } }
  losses { binary_cross_entropy {} }
}`;
const config = loadPipelineConfig(text());

describe('planDistributed', () => {
  it('sizes tables it never allocates, and needs no communication for one process', () => {
    const p = planDistributed(config, { worldSize: 1 });
    const a = p.tables.find((t) => t.name === 'a')!;
    expect(a).toMatchObject({ rows: 2147483647, dim: 16, bytes: 2147483647 * 17 * 4 });
    expect(p.tableBytes).toBe(p.tables.reduce((s, t) => s + t.bytes, 0));
    expect(p.collectives).toEqual([]);
    expect(formatPlan(p)).toMatch(/communication: none \(one process\)/);
  });

  it.each([2, 8, 128])('at W=%i: table-wise placement and the per-step bytes are the formulas', (w) => {
    const p = planDistributed(config, { worldSize: w, bagSize: 3, memoryPerRankBytes: 100 * 2 ** 30 });
    // a (~170 GiB with its wide columns) is over half of a rank's 100 GiB: row-wise, ceil(rows / W)
    // rows per rank; b, table-wise, goes to rank 0 (every rank equally loaded: rank order).
    expect(p.sharding.tables.map((t) => [t.table, t.placement, t.rank])).toEqual([
      ['a', 'row_wise', null],
      ['b', 'table_wise', 0],
      ['a_wide', 'row_wise', null],
      ['b_wide', 'table_wise', 0],
    ]);
    const by = (name: RegExp) => p.collectives.find((c) => name.test(c.name))!.bytesPerRank;
    const P = p.denseParameters;
    expect(by(/dense gradients/)).toBe(Math.floor((2 * (w - 1) * 4 * (P + 2)) / w));
    const B = 1000;
    expect(by(/batch header/)).toBe(24 * (w - 1));
    // Rank 0 sends every other rank feature a's bag lengths and its ids in that rank's rows (3 per
    // bag spread over the rows), b's 20 pooled columns (16 + 4 wide) and its partial sums of a's 20,
    // and dL/dpooled of a's 20 columns with an 8-byte learning rate (b stays on rank 0).
    const rows = 2147483647;
    const block = Math.ceil(rows / w);
    const share = (rows - block) / rows; // the rows of ranks 1…W−1
    expect(by(/ids to the ranks/)).toBe(Math.round(B * (4 * (w - 1) + 3 * 4 * share)));
    expect(by(/pooled columns back/)).toBe((w - 1) * B * 40 * 4);
    expect(by(/dL\/dpooled to the ranks/)).toBe((w - 1) * 8 + B * 20 * 4 * (w - 1));
    expect(p.bytesPerStepPerRank).toBe(p.collectives.reduce((s, c) => s + c.bytesPerRank, 0));
    // Rank 0 holds its block of a (and a_wide) and all of b.
    const bytes = (n: string) => p.tables.find((t) => t.name === n)!.bytes;
    expect(p.tableBytesPerRank).toBeCloseTo(
      ((bytes('a') + bytes('a_wide')) * block) / rows + bytes('b') + bytes('b_wide'),
      0,
    );
    expect(p.memoryPerRankBytes).toBe(p.tableBytesPerRank + p.denseBytes);
    expect(formatPlan(p)).toMatch(new RegExp(`at world size ${w}, batch_size 1000 per rank`));
    expect(formatPlan(p)).toMatch(/rank 0: 4 tables, .*table-wise: b, b_wide/);
    expect(formatPlan(p)).toMatch(
      /row-wise \(blocks of ceil\(rows \/ \d+\) rows on every rank\): a \(default: 176\.0 GiB, over half the 100\.0 GiB of tables a rank may hold\)/,
    );
    // Where even row blocks do not fit, the plan says so.
    expect(() => planDistributed(config, { worldSize: w, memoryPerRankBytes: 2 ** 30 })).toThrow(
      /Expected the tables to fit in 1\.0 GiB per rank but a rank would hold/,
    );
  });

  it('data-parallel tables (by constraint): all-gathers of the batch and dL/dpooled', () => {
    const w = 8;
    const dp = loadPipelineConfig(text('global_embedding_constraints { sharding_types: "data_parallel" }'));
    const p = planDistributed(dp, { worldSize: w, bagSize: 3, memoryPerRankBytes: 2 ** 40 });
    expect(p.sharding.tables.every((t) => t.placement === 'data_parallel')).toBe(true);
    // 'deep' pools a and b (16 each) and their 4-wide wide columns (co-located outputs): 40 floats per row.
    const F = 2;
    const B = 1000;
    const part = (F * B + 1) * 4 + F * B * 3 * 4 + B * 40 * 4;
    const gathered = p.collectives
      .filter((c) => /ids and offsets|dL\/dpooled/.test(c.name))
      .reduce((a, c) => a + c.bytesPerRank, 0);
    expect(gathered).toBe((w - 1) * part);
    expect(p.memoryPerRankBytes).toBe(p.tableBytes + p.denseBytes);
  });
});
