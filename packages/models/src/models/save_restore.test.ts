import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingCollection } from '@tsrec/native';

import type { ModelBatch } from './model_context';
import { SyntheticMatchTask } from '../testing/synthetic_match_task';
import { SyntheticCtrTask } from '../testing/synthetic_task';
import { testContext } from '../testing/test_context';
import { setUpTfjs } from '../tfjs_setup';
import { createModel, type BaseModel, type TrainableModel } from './index';

const BACKEND = process.env.TSREC_TEST_BACKEND ?? 'cpu';
beforeAll(() => setUpTfjs(BACKEND));

const ctr = new SyntheticCtrTask(6, 3, 50, 7, true);
const match = new SyntheticMatchTask();
const names = (xs: string[]) => xs.map((n) => `feature_names: "${n}"`).join(' ');
const groups = {
  wide: `feature_groups { group_name: "wide" ${names(ctr.sparseNames)} group_type: WIDE }`,
  deep: `feature_groups { group_name: "deep" ${names([...ctr.denseNames, ...ctr.sparseNames])} group_type: DEEP }`,
  fm: `feature_groups { group_name: "fm" ${names(ctr.sparseNames)} group_type: DEEP }`,
};
const tail = 'losses { binary_cross_entropy {} } metrics { auc {} }';
const towers =
  'task_towers { tower_name: "ctr" label_name: "label" mlp { hidden_units: [8] } metrics { auc {} } losses { binary_cross_entropy {} } } ' +
  'task_towers { tower_name: "cvr" label_name: "label2" mlp { hidden_units: [8] use_bn: true } metrics { auc {} } losses { binary_cross_entropy {} } weight: 0.5 }';
const twoLabels = 'data_config { label_fields: "label" label_fields: "label2" }\n';

/** Models to save and restore: config text and a batch source. */
const cases: [string, string, (B: number) => ModelBatch][] = [
  [
    'deepfm (deep and wide collections)',
    ctr.configText(
      `${groups.wide} ${groups.fm} ${groups.deep} deepfm { deep { hidden_units: [16, 8] dropout_ratio: 0.1 } } ${tail}`,
      twoLabels,
    ),
    (B) => ctr.batch(B).batch,
  ],
  [
    'dcn_v2 with use_bn and use_ln',
    ctr.configText(
      `${groups.deep} dcn_v2 { cross { cross_num: 2 low_rank: 4 } deep { hidden_units: [16] use_bn: true } final { hidden_units: [8] use_ln: true } } ${tail}`,
      twoLabels,
    ),
    (B) => ctr.batch(B).batch,
  ],
  [
    'ple',
    ctr.configText(
      `${groups.deep} ple { extraction_networks { expert_num_per_task: 2 share_num: 1 task_expert_net { hidden_units: [8] } share_expert_net { hidden_units: [8] } } extraction_networks { expert_num_per_task: 1 share_num: 1 task_expert_net { hidden_units: [8] } share_expert_net { hidden_units: [8] } } ${towers} }`,
      twoLabels,
    ),
    (B) => ctr.batch(B).batch,
  ],
  [
    'dssm',
    match.configText(
      'dssm { user_tower { input: "user" mlp { hidden_units: [16] use_bn: true } } item_tower { input: "item" mlp { hidden_units: [16] } } output_dim: 8 similarity: COSINE temperature: 0.1 in_batch_negative: true } losses { softmax_cross_entropy {} } metrics { recall_at_k {} }',
    ),
    (B) => match.batch(B),
  ],
];

function build(text: string): { model: TrainableModel; collections: EmbeddingCollection[] } {
  const { config, ctx, collections } = testContext(text);
  return { model: createModel(config.modelConfig!, ctx), collections };
}

/** Every prediction of a batch as plain arrays (eval mode). */
function predictions(model: TrainableModel, batch: ModelBatch): Record<string, Float32Array> {
  return tf.tidy(() =>
    Object.fromEntries(Object.entries(model.predict(batch)).map(([k, v]) => [k, v.dataSync().slice() as Float32Array])),
  );
}

describe.each(cases)('save and restore: %s', (_, text, batches) => {
  it('restores namedVariables into a fresh model (tables copied by readRows/writeRows) and predicts bit-identically', () => {
    const a = build(text);
    const opt = tf.train.adam(0.01);
    for (let s = 0; s < 4; s++) a.model.trainStep(batches(64), opt);
    opt.dispose();
    // Saved as plain arrays, as a checkpoint would hold them.
    const saved: Record<string, Float32Array> = Object.fromEntries(
      a.model.namedVariables().map(([n, v]) => [n, v.dataSync().slice() as Float32Array]),
    );

    const b = build(text);
    const namesA = a.model.namedVariables().map(([n]) => n);
    expect(b.model.namedVariables().map(([n]) => n)).toEqual(namesA);
    expect(new Set(namesA).size).toBe(namesA.length);
    const scopes = [(a.model as BaseModel).scope, (b.model as BaseModel).scope];
    expect(scopes[0]).not.toBe(scopes[1]); // tfjs names are global: each instance has its own scope …
    for (const n of namesA) for (const s of scopes) expect(n).not.toContain(s); // … which the names leave out
    expect(namesA.some((n) => n.includes('anchor'))).toBe(false);
    // The trainer saves tables itself: copy every table of every collection, by role.
    const ca = a.model.embeddingCollections();
    const cb = b.model.embeddingCollections();
    expect(Object.keys(cb)).toEqual(Object.keys(ca));
    for (const role of Object.keys(ca) as (keyof typeof ca)[]) {
      const from = ca[role] as EmbeddingCollection;
      const to = cb[role] as EmbeddingCollection;
      for (const t of from.tables) to.writeRows(t.name, 0, from.readRows(t.name, 0, t.rows));
    }

    const batch = batches(32);
    const expected = predictions(a.model, batch);
    const before = predictions(b.model, batch);
    expect(Object.keys(before).some((k) => before[k].some((v, i) => v !== expected[k][i]))).toBe(true); // training moved the variables
    b.model.loadWeights(saved);
    const after = predictions(b.model, batch);
    expect(Object.keys(after)).toEqual(Object.keys(expected));
    for (const k of Object.keys(expected)) expect(after[k]).toEqual(expected[k]);

    // Tensors work too (here: the other model's live variables).
    const c = build(text);
    for (const role of Object.keys(ca) as (keyof typeof ca)[]) {
      const from = ca[role] as EmbeddingCollection;
      for (const t of from.tables)
        (c.model.embeddingCollections()[role] as EmbeddingCollection).writeRows(
          t.name,
          0,
          from.readRows(t.name, 0, t.rows),
        );
    }
    c.model.loadWeights(Object.fromEntries(a.model.namedVariables()));
    const fromTensors = predictions(c.model, batch);
    for (const k of Object.keys(expected)) expect(fromTensors[k]).toEqual(expected[k]);

    for (const m of [a, b, c]) {
      m.model.dispose();
      m.collections.forEach((x) => x.dispose());
    }
  });
});

describe('loadWeights errors', () => {
  const text = ctr.configText(
    `${groups.wide} ${groups.fm} ${groups.deep} deepfm { deep { hidden_units: [16, 8] } } ${tail}`,
  );
  it('names missing, unexpected and mis-shaped variables and assigns nothing on error', () => {
    const { model, collections } = build(text);
    const values = (): Record<string, Float32Array | tf.Tensor> =>
      Object.fromEntries(model.namedVariables().map(([n, v]) => [n, new Float32Array(v.size).fill(0.5)]));
    expect(model.namedVariables().map(([n, v]) => `${n}:[${v.shape.join(',')}]`)).toEqual([
      'deep/mlp_0/kernel:[51,16]',
      'deep/mlp_0/bias:[16]',
      'deep/mlp_1/kernel:[16,8]',
      'deep/mlp_1/bias:[8]',
      'output/kernel:[8,1]',
      'output/bias:[1]',
    ]);
    const kernel = model.namedVariables()[0][1];
    const original = kernel.dataSync().slice();

    const missing = values();
    delete missing['output/bias'];
    delete missing['deep/mlp_1/bias'];
    expect(() => model.loadWeights(missing)).toThrow(
      "Expected a value for every variable of model deepfm but received none for 'deep/mlp_1/bias', 'output/bias'",
    );

    const unexpected = { ...values(), 'deep/mlp_2/kernel': new Float32Array(4) };
    expect(() => model.loadWeights(unexpected)).toThrow(
      "Expected only variables of model deepfm but received unexpected 'deep/mlp_2/kernel'",
    );

    expect(() => model.loadWeights({ ...values(), 'deep/mlp_0/kernel': new Float32Array(3) })).toThrow(
      "Expected shape [51,16] for variable 'deep/mlp_0/kernel' but received [3]",
    );
    const transposed = tf.zeros([16, 51]);
    expect(() => model.loadWeights({ ...values(), 'deep/mlp_0/kernel': transposed })).toThrow(
      "Expected shape [51,16] for variable 'deep/mlp_0/kernel' but received [16,51]",
    );
    transposed.dispose();
    expect(() => model.loadWeights({ ...values(), 'output/bias': [1] as unknown as Float32Array })).toThrow(
      "Expected a Float32Array or a tensor for variable 'output/bias' but received an array of 1",
    );
    expect(kernel.dataSync()).toEqual(original); // nothing was assigned

    // Non-strict: missing and unexpected names are ignored, the rest is assigned; shapes still checked.
    model.loadWeights({ 'output/bias': Float32Array.of(2), other: new Float32Array(1) }, { strict: false });
    expect(Array.from(model.namedVariables()[5][1].dataSync())).toEqual([2]);
    expect(kernel.dataSync()).toEqual(original);
    expect(() => model.loadWeights({ 'output/bias': new Float32Array(2) }, { strict: false })).toThrow(
      "Expected shape [1] for variable 'output/bias' but received [2]",
    );

    const tensors = tf.memory().numTensors;
    model.loadWeights(values());
    expect(tf.memory().numTensors).toBe(tensors);
    expect(kernel.dataSync().every((v) => v === 0.5)).toBe(true);
    model.dispose();
    collections.forEach((c) => c.dispose());
  });
});
