import { loadPipelineConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { formatPlan, planDistributed } from './plan';

// `tsrec plan`: the formulas of the synchronous replicas, on a config whose tables are too big to
// allocate here (so the plan must not allocate them); the dist tests compare them with np 2 / 4 runs.
beforeAll(() => setUpTfjs('tsrec'));

/** DeepFM over two id features, one of 2^31-1 rows (16 dims: ~128 GiB with row-wise state). */
const config = loadPipelineConfig(`
train_input_path: "t" eval_input_path: "e" model_dir: "m"
train_config { sparse_optimizer { rowwise_adagrad_optimizer { lr: 0.1 } } dense_optimizer { adam_optimizer { lr: 0.01 } } num_steps: 1 }
data_config { batch_size: 1000 dataset_type: CsvDataset with_header: true label_fields: "label" }
feature_configs { id_feature { feature_name: "a" expression: "user:a" num_buckets: 2147483647 embedding_dim: 16 } }
feature_configs { id_feature { feature_name: "b" expression: "user:b" num_buckets: 30 embedding_dim: 16 } }
model_config {
  feature_groups { group_name: "wide" feature_names: ["a", "b"] group_type: WIDE }
  feature_groups { group_name: "deep" feature_names: ["a", "b"] group_type: DEEP }
  deepfm { deep { hidden_units: [4] } }
  losses { binary_cross_entropy {} }
}`);

describe('planDistributed', () => {
  it('sizes tables it never allocates, and needs no communication for one process', () => {
    const p = planDistributed(config, { worldSize: 1 });
    const a = p.tables.find((t) => t.name === 'a')!;
    expect(a).toMatchObject({ rows: 2147483647, dim: 16, bytes: 2147483647 * 17 * 4 });
    expect(p.tableBytes).toBe(p.tables.reduce((s, t) => s + t.bytes, 0));
    expect(p.collectives).toEqual([]);
    expect(formatPlan(p)).toMatch(/communication: none \(one process\)/);
  });

  it.each([2, 8, 128])('at W=%i: the per-step bytes are the formulas', (w) => {
    const p = planDistributed(config, { worldSize: w, bagSize: 3 });
    const by = (name: RegExp) => p.collectives.find((c) => name.test(c.name))!.bytesPerRank;
    const P = p.denseParameters;
    expect(by(/dense gradients/)).toBe(Math.floor((2 * (w - 1) * 4 * (P + 2)) / w));
    // 'deep' pools a and b (16 each) and their 4-wide wide columns (co-located outputs): 40 floats per row.
    const F = 2;
    const B = 1000;
    const part = (F * B + 1) * 4 + F * B * 3 * 4 + B * 40 * 4;
    const gathered = p.collectives
      .filter((c) => /ids and offsets|dL\/dpooled/.test(c.name))
      .reduce((a, c) => a + c.bytesPerRank, 0);
    expect(gathered).toBe((w - 1) * part);
    expect(p.bytesPerStepPerRank).toBe(p.collectives.reduce((s, c) => s + c.bytesPerRank, 0));
    expect(p.memoryPerRankBytes).toBe(p.tableBytes + p.denseBytes);
    expect(formatPlan(p)).toMatch(new RegExp(`at world size ${w}, batch_size 1000 per rank`));
  });
});
