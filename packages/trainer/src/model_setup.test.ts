import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipelineConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { ensureExampleData, exampleConfigText } from './default_example';
import { buildModel } from './model_setup';
import { trainAndEvaluate } from './train_eval';

// How the model's embedding tables follow the feature configs, as TorchEasyRec builds them.
beforeAll(() => setUpTfjs('tsrec'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-setup-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A tiny DeepFM over two id features, with extra text inside each feature and the model. */
function config(feature: { a?: string; b?: string }, model = 'deepfm { deep { hidden_units: [4] } }') {
  return loadPipelineConfig(`
train_input_path: "t" eval_input_path: "e" model_dir: "m"
train_config { sparse_optimizer { sgd_optimizer { lr: 0.1 } } dense_optimizer { adam_optimizer { lr: 0.01 } } num_steps: 1 }
data_config { batch_size: 4 dataset_type: CsvDataset with_header: true label_fields: "label" }
feature_configs { id_feature { feature_name: "a" expression: "user:a" num_buckets: 50 embedding_dim: 8 ${feature.a ?? ''} } }
feature_configs { id_feature { feature_name: "b" expression: "user:b" num_buckets: 30 embedding_dim: 8 ${feature.b ?? ''} } }
model_config {
  feature_groups { group_name: "wide" feature_names: ["a", "b"] group_type: WIDE }
  feature_groups { group_name: "deep" feature_names: ["a", "b"] group_type: DEEP }
  ${model}
  losses { binary_cross_entropy {} }
}`);
}

describe('buildModel follows the feature configs', () => {
  it('pooling: "mean" (any case) pools a bag by its mean; the default sums', () => {
    const setup = buildModel(config({ a: 'pooling: "mean"', b: 'pooling: "MEAN"' }));
    const c = setup.collections.find((x) => x.role === 'deep')!.collection!;
    expect(c.features.map((f) => [f.name, f.pooling])).toEqual([
      ['a', 'mean'],
      ['b', 'mean'],
    ]);
    // Bag [1, 2] of feature a: the mean of rows 1 and 2.
    const batch = {
      indices: Int32Array.from([1, 2, 3]),
      offsets: Int32Array.from([0, 2, 3]),
      batchSize: 1,
    };
    const pooled = c.forward(batch).outputs[0];
    const rows = c.readRows('a', 1, 2);
    for (let d = 0; d < 8; d++) expect(pooled[d]).toBeCloseTo((rows[d] + rows[8 + d]) / 2, 6);
    setup.dispose();
    const sum = buildModel(config({}));
    expect(sum.collections[0].collection!.features.map((f) => f.pooling)).toEqual(['sum', 'sum']);
    sum.dispose();
  });

  it('init_fn and wide_init_fn initialise the tables as PyTorch does', () => {
    const setup = buildModel(
      config(
        { a: 'init_fn: "nn.init.constant_,val=0.25"', b: 'init_fn: "nn.init.uniform_,a=-0.01,b=0.01"' },
        'deepfm { deep { hidden_units: [4] } wide_init_fn: "nn.init.zeros_" }',
      ),
    );
    const c = setup.collections[0].collection!;
    expect(new Set(c.readRows('a', 0, 50))).toEqual(new Set([0.25]));
    const b = c.readRows('b', 0, 30);
    expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(0.01);
    expect(new Set(b).size).toBeGreaterThan(100);
    for (const wide of ['a_wide', 'b_wide']) expect(new Set(c.readRows(wide, 0, 5))).toEqual(new Set([0]));
    setup.dispose();
  });

  it("xDeepFM's wide tables are 16 wide by default (TorchEasyRec's default), 4 for DeepFM", () => {
    const x = buildModel(
      config({}, 'xdeepfm { cin { cin_layer_size: [4] } deep { hidden_units: [4] } final { hidden_units: [2] } }'),
    );
    expect(x.collections.flatMap((e) => e.collection!.tables).find((t) => t.name === 'a_wide')!.dim).toBe(16);
    x.dispose();
    const d = buildModel(config({}));
    expect(d.collections.flatMap((e) => e.collection!.tables).find((t) => t.name === 'a_wide')!.dim).toBe(4);
    d.dispose();
  });
});

describe('embedding dims that are not multiples of 4', () => {
  it.each([
    [3, 1],
    [7, 2],
  ])(
    'train: embedding_dim %i, wide_embedding_dim %i',
    async (dim, wideDim) => {
      const data = ensureExampleData(path.join(tmp, 'data'), {
        trainRows: 600,
        evalRows: 200,
        seed: 3,
        cardinalityScale: 0.001,
      });
      const text = exampleConfigText({
        train: data.train,
        eval: data.eval,
        modelDir: path.join(tmp, `odd_${dim}`),
        cardinalityScale: 0.001,
        epochs: 1,
        batchSize: 100,
      })
        .replace(/embedding_dim: 16/g, `embedding_dim: ${dim}`)
        .replace('wide_embedding_dim: 4', `wide_embedding_dim: ${wideDim}`);
      const c = loadPipelineConfig(text, { validate: true });
      const s = await trainAndEvaluate({
        config: c,
        stream: { write: () => true } as unknown as NodeJS.WritableStream,
      });
      expect(s.step).toBe(6);
      expect(Number.isFinite(s.lastLoss)).toBe(true);
      expect(s.lastEval!.metrics.auc).toBeGreaterThan(0.5);
    },
    120000,
  );
});
