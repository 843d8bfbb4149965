import * as tf from '@tensorflow/tfjs-core';
import type { PipelineConfig } from '@tsrec/config';
import type { EmbeddingCollection } from '@tsrec/native';

import { exactAuc } from '../metrics/auc';
import { SyntheticCtrTask } from '../testing/synthetic_task';
import { testContext } from '../testing/test_context';
import { setUpTfjs } from '../tfjs_setup';
import {
  createModel,
  DCNV1,
  DCNV2,
  DeepFM,
  DLRM,
  MaskNet,
  DBMTL,
  MMoE,
  MultiTower,
  PLE,
  registeredModels,
  SimpleMultiTask,
  WideAndDeep,
  XDeepFM,
  type BaseModel,
  type ModelContext,
  type TrainableModel,
} from './index';

/** The tfjs backend of these tests; the `tsrec` backend runs the same code (TSREC_TEST_BACKEND=tsrec). */
const BACKEND = process.env.TSREC_TEST_BACKEND ?? 'cpu';
beforeAll(() => setUpTfjs(BACKEND));

const task = new SyntheticCtrTask(6, 3, 50, 7);
const groups = {
  wide: `feature_groups { group_name: "wide" ${task.sparseNames.map((n) => `feature_names: "${n}"`).join(' ')} group_type: WIDE }`,
  deep: `feature_groups { group_name: "deep" ${[...task.denseNames, ...task.sparseNames].map((n) => `feature_names: "${n}"`).join(' ')} group_type: DEEP }`,
  fm: `feature_groups { group_name: "fm" ${task.sparseNames.map((n) => `feature_names: "${n}"`).join(' ')} group_type: DEEP }`,
  dense: `feature_groups { group_name: "dense" ${task.denseNames.map((n) => `feature_names: "${n}"`).join(' ')} group_type: DEEP }`,
  sparse: `feature_groups { group_name: "sparse" ${task.sparseNames.map((n) => `feature_names: "${n}"`).join(' ')} group_type: DEEP }`,
  all: `feature_groups { group_name: "all" ${[...task.denseNames, ...task.sparseNames].map((n) => `feature_names: "${n}"`).join(' ')} group_type: DEEP }`,
};
/** A related second label (`label2`) for the multi-task models. */
const multiTask = new SyntheticCtrTask(6, 3, 50, 7, true);
/** Two task towers on `label` (ctr) and `label2` (cvr, weight 0.5). */
const towers = (ctr: string, cvr: string) =>
  `task_towers { tower_name: "ctr" label_name: "label" mlp { hidden_units: [${ctr}] } metrics { auc {} } losses { binary_cross_entropy {} } } ` +
  `task_towers { tower_name: "cvr" label_name: "label2" mlp { hidden_units: [${cvr}] } metrics { auc {} } losses { binary_cross_entropy {} } weight: 0.5 }`;
/** Two PLE extraction networks. */
const ple =
  'extraction_networks { network_name: "layer1" expert_num_per_task: 2 share_num: 1 task_expert_net { hidden_units: [8] } share_expert_net { hidden_units: [8] } } ' +
  'extraction_networks { network_name: "layer2" expert_num_per_task: 1 share_num: 1 task_expert_net { hidden_units: [8] } share_expert_net { hidden_units: [8] } }';
const tail = 'losses { binary_cross_entropy {} } metrics { auc {} } metrics { normalized_entropy {} }';

function contextFor(
  modelConfig: string,
  t: SyntheticCtrTask = task,
): { config: PipelineConfig; ctx: ModelContext; collections: EmbeddingCollection[] } {
  return testContext(
    t.configText(modelConfig, t === multiTask ? 'data_config { label_fields: "label" label_fields: "label2" }\n' : ''),
  );
}

function train(model: TrainableModel, steps: number, B = 256, t: SyntheticCtrTask = task): number[] {
  const opt = tf.train.adam(0.005);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(model.trainStep(t.batch(B).batch, opt));
  opt.dispose();
  return losses;
}

function evaluate(model: TrainableModel): { metrics: Record<string, number>; plantedAuc: number } {
  const { batch, planted } = task.batch(4000);
  tf.tidy(() => model.updateMetrics(model.predict(batch), batch));
  return { metrics: model.computeMetrics(), plantedAuc: exactAuc(planted, batch.labels.label) };
}

/** namedVariables: unique scope-relative names, no anchors, the trainable ones summing to denseParameterCount. */
function expectStableNames(model: TrainableModel): void {
  const named = model.namedVariables();
  const names = named.map(([n]) => n);
  expect(new Set(names).size).toBe(names.length);
  for (const n of names) expect(n).not.toContain((model as BaseModel).scope);
  expect(names.some((n) => n.includes('anchor'))).toBe(false);
  expect(named.filter(([, v]) => v.trainable).reduce((s, [, v]) => s + v.size, 0)).toBe(model.denseParameterCount);
  expect(model.trainableVariables.length).toBe(
    named.filter(([, v]) => v.trainable).length + Object.keys(model.embeddingCollections()).length,
  );
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.each([
  [
    'deepfm',
    DeepFM,
    `${groups.wide} ${groups.fm} ${groups.deep} deepfm { deep { hidden_units: [32, 16] } } ${tail}`,
    300,
  ],
  [
    'wide_and_deep',
    WideAndDeep,
    `${groups.wide} ${groups.deep} wide_and_deep { deep { hidden_units: [32, 16] } } ${tail}`,
    300,
  ],
  [
    'dlrm',
    DLRM,
    `${groups.dense} ${groups.sparse} dlrm { dense_mlp { hidden_units: [16, 8] } final { hidden_units: [32, 16] } } ${tail}`,
    300,
  ],
  [
    'dcn_v2',
    DCNV2,
    `${groups.all} dcn_v2 { cross { cross_num: 2 low_rank: 8 } deep { hidden_units: [16] } final { hidden_units: [8] } } ${tail}`,
    150,
  ],
  [
    'dcn_v2_bn_ln',
    DCNV2,
    `${groups.all} dcn_v2 { cross { cross_num: 2 low_rank: 8 } deep { hidden_units: [16] use_bn: true } final { hidden_units: [8] use_ln: true } } ${tail}`,
    150,
  ],
  [
    'multi_tower',
    MultiTower,
    `${groups.dense} ${groups.sparse} multi_tower { towers { input: "dense" mlp { hidden_units: [8] } } towers { input: "sparse" mlp { hidden_units: [32, 16] } } final { hidden_units: [8] } } ${tail}`,
    150,
  ],
  [
    'dcn_v1',
    DCNV1,
    `${groups.all} dcn_v1 { cross { cross_num: 2 } deep { hidden_units: [16] } final { hidden_units: [8] } } ${tail}`,
    150,
  ],
  [
    'mask_net',
    MaskNet,
    `${groups.all} mask_net { mask_net_module { n_mask_blocks: 2 mask_block { reduction_ratio: 0.5 hidden_dim: 16 } top_mlp { hidden_units: [8] } } } ${tail}`,
    120,
  ],
  [
    'xdeepfm',
    XDeepFM,
    `${groups.wide} ${groups.deep} xdeepfm { cin { cin_layer_size: [8, 8] } deep { hidden_units: [16] } final { hidden_units: [8] } wide_embedding_dim: 4 } ${tail}`,
    150,
  ],
])('%s', (name, cls, modelConfig, steps) => {
  it('is built from config by name, with the expected shapes and dense parameter count', () => {
    const { config, ctx, collections } = contextFor(modelConfig);
    const model = createModel(config.modelConfig!, ctx);
    expect(model).toBeInstanceOf(cls);
    // Wide models co-locate each <table>_wide with its deep table: one collection, role deep.
    expect(Object.keys(model.embeddingCollections())).toEqual(['deep']);
    expect(registeredModels()).toEqual([
      'dbmtl',
      'dcn_v1',
      'dcn_v2',
      'deepfm',
      'dlrm',
      'dssm',
      'mask_net',
      'mmoe',
      'multi_tower',
      'ple',
      'simple_multi_task',
      'wide_and_deep',
      'xdeepfm',
    ]);
    const { batch } = task.batch(5);
    tf.tidy(() => {
      const p = model.predict(batch);
      expect(p.logits.shape).toEqual([5]);
      expect(p.probs.shape).toEqual([5]);
    });
    const D = 6 * 8 + 3;
    const expected: Record<string, number> = {
      deepfm: D * 32 + 32 + 32 * 16 + 16 + 16 + 1,
      wide_and_deep: D * 32 + 32 + 32 * 16 + 16 + 16 + 1,
      // dense_mlp 3→16→8; interaction over 7 fields: 21; final input 8 + 21 + 48 = 77 → 32 → 16 → 1
      dlrm: 3 * 16 + 16 + 16 * 8 + 8 + 77 * 32 + 32 + 32 * 16 + 16 + 16 + 1,
      // cross: 2 layers of U [51, 8], V [8, 51], bias [51]; deep 51 → 16; final 16 → 8 → 1
      dcn_v2: 2 * (D * 8 * 2 + D) + D * 16 + 16 + 16 * 8 + 8 + 8 + 1,
      // as dcn_v2, but deep's linear layer has no bias (use_bn) and BN γ, β [16]; final's LN γ, β [8]
      dcn_v2_bn_ln: 2 * (D * 8 * 2 + D) + D * 16 + 2 * 16 + 16 * 8 + 8 + 2 * 8 + 8 + 1,
      // towers 3 → 8 and 48 → 32 → 16; final 24 → 8 → 1
      multi_tower: 3 * 8 + 8 + 48 * 32 + 32 + 32 * 16 + 16 + 24 * 8 + 8 + 8 + 1,
      // cross: 2 layers of w [51, 1], b [51]; deep 51 → 16; final 67 → 8 → 1
      dcn_v1: 2 * 2 * D + D * 16 + 16 + (D + 16) * 8 + 8 + 8 + 1,
      // input LN; 2 blocks: mask 51 → 25 → 51, hidden 51 → 16, LN 16; top 32 → 8 → 1
      mask_net: 2 * D + 2 * (D * 25 + 25 + 25 * D + D + D * 16 + 16 + 2 * 16) + 32 * 8 + 8 + 8 + 1,
      // CIN over 6 fields: 36 → 8, 48 → 8; deep 51 → 16; final 32 → 8 → 1
      xdeepfm: 36 * 8 + 8 + 48 * 8 + 8 + D * 16 + 16 + 32 * 8 + 8 + 8 + 1,
    };
    expect(model.denseParameterCount).toBe(expected[name]);
    expectStableNames(model);
    // Wide models' 4-wide tables <table>_wide ride in their deep tables' rows (pooled output 1).
    expect(
      collections.map((c) =>
        c.tables
          .map((t) => `${t.name}:${t.dim}${t.host >= 0 ? `@${c.tables[t.host].name}/${t.output}` : ''}`)
          .join(','),
      ),
    ).toEqual(
      !['deepfm', 'wide_and_deep', 'xdeepfm'].includes(name)
        ? [task.sparseNames.map((n) => `${n}:8`).join(',')]
        : [[...task.sparseNames.map((n) => `${n}:8`), ...task.sparseNames.map((n) => `${n}_wide:4@${n}/1`)].join(',')],
    );
    model.dispose();
    collections.forEach((c) => c.dispose());
  });

  it('trains: loss falls and AUC rises well above chance on the planted task', () => {
    const { config, ctx, collections } = contextFor(modelConfig);
    const model = createModel(config.modelConfig!, ctx);
    const before = evaluate(model).metrics.auc;
    const tensorsBefore = tf.memory().numTensors;
    const losses = train(model, steps);
    expect(tf.memory().numTensors).toBe(tensorsBefore); // no tensor leaks per step
    const { metrics, plantedAuc } = evaluate(model);
    expect(mean(losses.slice(-30))).toBeLessThan(mean(losses.slice(0, 30)) * 0.9);
    expect(metrics.auc).toBeGreaterThan(0.75);
    expect(metrics.auc).toBeGreaterThan(before + 0.1);
    expect(metrics.auc).toBeLessThanOrEqual(plantedAuc + 0.02);
    expect(metrics.normalized_entropy).toBeLessThan(0.95);
    model.dispose();
    collections.forEach((c) => c.dispose());
  });
});

describe.each([
  ['deepfm', `${groups.wide} ${groups.fm} ${groups.deep} deepfm { deep { hidden_units: [32, 16] } } ${tail}`],
  ['wide_and_deep', `${groups.wide} ${groups.deep} wide_and_deep { deep { hidden_units: [32, 16] } } ${tail}`],
  [
    'xdeepfm',
    `${groups.wide} ${groups.deep} xdeepfm { cin { cin_layer_size: [8, 8] } deep { hidden_units: [16] } final { hidden_units: [8] } wide_embedding_dim: 4 } ${tail}`,
  ],
])('%s with co-located wide tables', (_name, modelConfig) => {
  it('trains bit-identically to separate deep and wide collections (TSREC_COLOCATE=0)', () => {
    const build = (colocate: boolean) => {
      const saved = process.env.TSREC_COLOCATE;
      process.env.TSREC_COLOCATE = colocate ? '1' : '0';
      try {
        const { config, ctx, collections } = contextFor(modelConfig);
        return { model: createModel(config.modelConfig!, ctx), collections };
      } finally {
        if (saved === undefined) delete process.env.TSREC_COLOCATE;
        else process.env.TSREC_COLOCATE = saved;
      }
    };
    const co = build(true);
    const sep = build(false);
    expect(co.collections.length).toBe(1);
    expect(sep.collections.length).toBe(2);
    // Same start: the separate tables take the co-located ones' values, the dense weights are seeded alike.
    for (const c of sep.collections)
      for (const t of c.tables) c.writeRows(t.name, 0, co.collections[0].readRows(t.name, 0, t.rows));
    sep.model.loadWeights(
      Object.fromEntries(co.model.namedVariables().map(([n, v]) => [n, v.dataSync() as Float32Array])),
    );
    const t1 = new SyntheticCtrTask(6, 3, 50, 7);
    const t2 = new SyntheticCtrTask(6, 3, 50, 7);
    const a = train(co.model, 12, 128, t1);
    const b = train(sep.model, 12, 128, t2);
    expect(a).toEqual(b);
    const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    for (const c of sep.collections) {
      for (const t of c.tables) {
        expect(bits(co.collections[0].readRows(t.name, 0, t.rows)).equals(bits(c.readRows(t.name, 0, t.rows)))).toBe(
          true,
        );
        expect(
          bits(co.collections[0].readRows(t.name, 0, t.rows, 'sum')).equals(bits(c.readRows(t.name, 0, t.rows, 'sum'))),
        ).toBe(true);
      }
    }
    for (const m of [co, sep]) {
      m.model.dispose();
      m.collections.forEach((c) => c.dispose());
    }
  });
});

describe('model construction errors', () => {
  it('names the missing group and the model', () => {
    const { config, ctx } = contextFor(`${groups.deep} deepfm { deep { hidden_units: [8] } } ${tail}`);
    expect(() => createModel(config.modelConfig!, ctx)).toThrow(
      "Expected a feature group named 'wide' for model deepfm but received groups 'deep'",
    );
  });
  it('rejects a dense_mlp whose width differs from the sparse embedding dim', () => {
    const { config, ctx } = contextFor(
      `${groups.dense} ${groups.sparse} dlrm { dense_mlp { hidden_units: [16, 4] } } ${tail}`,
    );
    expect(() => createModel(config.modelConfig!, ctx)).toThrow(
      'Expected the last of dlrm.dense_mlp.hidden_units to equal the sparse embedding_dim 8 but received 4',
    );
  });
  it('one-group models read the first group (as TorchEasyRec; validate warns about the rest); a missing tower label is named', () => {
    const two = contextFor(
      `${groups.dense} ${groups.sparse} dcn_v2 { cross { cross_num: 1 } final { hidden_units: [8] } } ${tail}`,
    );
    const dcn = createModel(two.config.modelConfig!, two.ctx);
    dcn.dispose();
    two.collections.forEach((c) => c.dispose());
    const { config, ctx, collections } = contextFor(
      `${groups.all} simple_multi_task { ${towers('8', '8')} }`,
      multiTask,
    );
    const model = createModel(config.modelConfig!, ctx);
    const { batch } = task.batch(4); // no label2
    expect(() => tf.tidy(() => model.loss(model.predict(batch), batch))).toThrow(
      "Expected label 'label2' in the batch but received labels label",
    );
    model.dispose();
    collections.forEach((c) => c.dispose());
  });
  it('reports unregistered models as not supported yet', () => {
    const { config, ctx } = contextFor(`${groups.deep} wukong {} ${tail}`);
    expect(() => createModel(config.modelConfig!, ctx)).toThrow(
      "model 'wukong' is not supported yet (registered: dbmtl, dcn_v1, dcn_v2, deepfm, dlrm, dssm, mask_net, mmoe, multi_tower, ple, simple_multi_task, wide_and_deep, xdeepfm)",
    );
  });
});

describe.each([
  // ctr 51 → 32 → 16 → 1; cvr 51 → 16 → 1
  [
    'simple_multi_task',
    SimpleMultiTask,
    `${groups.all} simple_multi_task { ${towers('32, 16', '16')} }`,
    51 * 32 + 32 + 32 * 16 + 16 + 17 + 51 * 16 + 16 + 17,
  ],
  // 3 experts 51 → 16; per task a gate 51 → 8 → 3 and a tower 16 → 8 → 1
  [
    'mmoe',
    MMoE,
    `${groups.all} mmoe { expert_mlp { hidden_units: [16] } gate_mlp { hidden_units: [8] } num_expert: 3 ${towers('8', '8')} }`,
    3 * (51 * 16 + 16) + 2 * (51 * 8 + 8 + 8 * 3 + 3 + 16 * 8 + 8 + 9),
  ],
  // bottom 51 → 16; 2 experts 16 → 8, per task a gate 16 → 2; ctr: mlp 8 → 8, output 8 → 1; cvr:
  // mlp 8 → 8, relation mlp over [cvr 8, ctr 8] 16 → 4, output 4 → 1
  [
    'dbmtl',
    DBMTL,
    `${groups.all} dbmtl { bottom_mlp { hidden_units: [16] } expert_mlp { hidden_units: [8] } num_expert: 2 ${towers('8', '8').replace('weight: 0.5', 'weight: 0.5 relation_tower_names: "ctr" relation_mlp { hidden_units: [4] }')} }`,
    51 * 16 + 16 + 2 * (16 * 8 + 8) + 2 * (16 * 2 + 2) + (8 * 8 + 8 + 9) + (8 * 8 + 8 + 16 * 4 + 4 + 5),
  ],
  // Extraction 1 (51 wide in): 1 shared + 2·2 task experts 51 → 8, task gates 51 → 3 (2 own + 1
  // shared), shared gate 51 → 5 (4 task + 1 shared); extraction 2 (final, 8 in): 1 shared + 2·1
  // task experts 8 → 8, task gates 8 → 2, no shared gate; towers 8 → 8 → 1.
  [
    'ple',
    PLE,
    `${groups.all} ple { ${ple} ${towers('8', '8')} }`,
    5 * (51 * 8 + 8) + 2 * (51 * 3 + 3) + (51 * 5 + 5) + 3 * (8 * 8 + 8) + 2 * (8 * 2 + 2) + 2 * (8 * 8 + 8 + 9),
  ],
])('%s', (_name, cls, modelConfig, parameters) => {
  it('is built from config by name, with tower-suffixed outputs and the expected dense parameter count', () => {
    const { config, ctx, collections } = contextFor(modelConfig, multiTask);
    const model = createModel(config.modelConfig!, ctx);
    expect(model).toBeInstanceOf(cls);
    expect(model.tasks.map((t) => [t.towerName, t.labelName, t.weight])).toEqual([
      ['ctr', 'label', 1],
      ['cvr', 'label2', 0.5],
    ]);
    const { batch } = multiTask.batch(5);
    tf.tidy(() => {
      const p = model.predict(batch);
      expect(Object.keys(p).sort()).toEqual(['logits_ctr', 'logits_cvr', 'probs_ctr', 'probs_cvr']);
      for (const v of Object.values(p)) expect(v.shape).toEqual([5]);
      expect(Object.keys(model.loss(p, batch))).toEqual(['binary_cross_entropy_ctr', 'binary_cross_entropy_cvr']);
    });
    expect(model.denseParameterCount).toBe(parameters);
    expectStableNames(model);
    model.dispose();
    collections.forEach((c) => c.dispose());
  });

  it('trains both tasks: loss falls and each AUC_<tower> rises well above chance', () => {
    const { config, ctx, collections } = contextFor(modelConfig, multiTask);
    const model = createModel(config.modelConfig!, ctx);
    const tensorsBefore = tf.memory().numTensors;
    const losses = train(model, 150, 256, multiTask);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const { batch, planted, planted2 } = multiTask.batch(4000);
    tf.tidy(() => model.updateMetrics(model.predict(batch), batch));
    const metrics = model.computeMetrics();
    expect(Object.keys(metrics)).toEqual(['auc_ctr', 'auc_cvr']);
    expect(mean(losses.slice(-30))).toBeLessThan(mean(losses.slice(0, 30)) * 0.9);
    expect(metrics.auc_ctr).toBeGreaterThan(0.75);
    expect(metrics.auc_cvr).toBeGreaterThan(0.7);
    expect(metrics.auc_ctr).toBeLessThanOrEqual(exactAuc(planted, batch.labels.label) + 0.02);
    expect(metrics.auc_cvr).toBeLessThanOrEqual(exactAuc(planted2!, batch.labels.label2) + 0.02);
    model.dispose();
    collections.forEach((c) => c.dispose());
  });
});

describe('dbmtl with jrc_loss (num_class 2, sessions from a sparse feature)', () => {
  it("builds, predicts two-class logits, names the loss jrc_loss_<tower>, and trains each tower's AUC above chance", () => {
    const session = multiTask.sparseNames[0];
    const jrc = (name: string, label: string, extra = '') =>
      `task_towers { tower_name: "${name}" label_name: "${label}" num_class: 2 mlp { hidden_units: [8] } ${extra} metrics { auc {} } losses { jrc_loss { session_name: "${session}" alpha: 0.5 } } }`;
    const { config, ctx, collections } = contextFor(
      `${groups.all} dbmtl { bottom_mlp { hidden_units: [16] } ${jrc('ctr', 'label')} ${jrc('cvr', 'label2', 'relation_tower_names: "ctr" relation_mlp { hidden_units: [4] }')} }`,
      multiTask,
    );
    const model = createModel(config.modelConfig!, ctx);
    const { batch } = multiTask.batch(5);
    tf.tidy(() => {
      const p = model.predict(batch);
      expect(p.logits_ctr.shape).toEqual([5, 2]);
      expect(Object.keys(model.loss(p, batch))).toEqual(['jrc_loss_ctr', 'jrc_loss_cvr']);
    });
    const losses = train(model, 120, 256, multiTask);
    const big = multiTask.batch(3000).batch;
    tf.tidy(() => model.updateMetrics(model.predict(big), big));
    const metrics = model.computeMetrics();
    expect(mean(losses.slice(-30))).toBeLessThan(mean(losses.slice(0, 30)));
    expect(metrics.auc_ctr).toBeGreaterThan(0.7);
    expect(metrics.auc_cvr).toBeGreaterThan(0.65);
    model.dispose();
    collections.forEach((c) => c.dispose());
  });
});
