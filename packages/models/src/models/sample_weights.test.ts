import * as tf from '@tensorflow/tfjs-core';

import { SyntheticCtrTask } from '../testing/synthetic_task';
import { testContext } from '../testing/test_context';
import { setUpTfjs } from '../tfjs_setup';
import { createModel, type TrainableModel } from './index';

// TorchEasyRec's sample weights (tzrec/models/rank_model.py, multi_task_rank.py): a single-task
// model weights its losses by the first sample_weight_fields entry only, as mean(ℓ·w/mean(w)); a
// task tower by its own sample_weight_name only (unweighted without one), times its weight; the
// metrics are never weighted.
beforeAll(() => setUpTfjs('cpu'));

const task = new SyntheticCtrTask(2, 2, 20, 5, true);
const deep = `feature_groups { group_name: "all" ${[...task.denseNames, ...task.sparseNames].map((n) => `feature_names: "${n}"`).join(' ')} group_type: DEEP }`;

function bce(logits: Float32Array, labels: Float32Array): Float64Array {
  return Float64Array.from(logits, (x, i) => Math.max(x, 0) - x * labels[i] + Math.log1p(Math.exp(-Math.abs(x))));
}
const weightedMean = (l: Float64Array, w: Float32Array) =>
  l.reduce((s, v, i) => s + v * w[i], 0) / w.reduce((s, v) => s + v, 0);
const mean = (l: Float64Array) => l.reduce((s, v) => s + v, 0) / l.length;

/** The model of `modelConfig`, with the trainer's rule: the first sample_weight_fields entry (w1). */
function build(modelConfig: string, extra: string): TrainableModel {
  const { config, ctx } = testContext(task.configText(modelConfig, extra));
  return createModel(config.modelConfig!, { ...ctx, sampleWeightName: 'w1' });
}

describe('sample weights as TorchEasyRec applies them', () => {
  const { batch } = task.batch(64);
  const w1 = Float32Array.from({ length: 64 }, (_, i) => 0.5 + (i % 5));
  const w2 = Float32Array.from({ length: 64 }, (_, i) => (i % 3) + 1);
  batch.sampleWeights = { w1, w2 };

  it('a single-task model weights its loss by the first weight field only; metrics stay unweighted', () => {
    const model = build(
      `${deep} multi_tower { towers { input: "all" mlp { hidden_units: [4] } } final { hidden_units: [2] } } losses { binary_cross_entropy {} } metrics { auc {} }`,
      'data_config { label_fields: "label" sample_weight_fields: ["w1", "w2"] }\n',
    );
    const p = model.predict(batch);
    const logits = p.logits.dataSync() as Float32Array;
    const loss = model.loss(p, batch).binary_cross_entropy.dataSync()[0];
    expect(loss).toBeCloseTo(weightedMean(bce(logits, batch.labels.label), w1), 5);
    model.updateMetrics(p, batch);
    const auc = model.computeMetrics().auc;
    const unweighted = pairAuc(p.probs.dataSync() as Float32Array, batch.labels.label);
    expect(auc).toBeCloseTo(unweighted, 10);
    model.dispose();
  });

  it('a task tower uses its own sample_weight_name (none: unweighted) times its weight', () => {
    const model = build(
      `${deep} simple_multi_task { ` +
        'task_towers { tower_name: "ctr" label_name: "label" mlp { hidden_units: [4] } losses { binary_cross_entropy {} } } ' +
        'task_towers { tower_name: "cvr" label_name: "label2" mlp { hidden_units: [4] } losses { binary_cross_entropy {} } sample_weight_name: "w2" weight: 0.5 } }',
      'data_config { label_fields: "label" label_fields: "label2" sample_weight_fields: ["w1", "w2"] }\n',
    );
    const p = model.predict(batch);
    const losses = model.loss(p, batch);
    const ctr = bce(p.logits_ctr.dataSync() as Float32Array, batch.labels.label);
    const cvr = bce(p.logits_cvr.dataSync() as Float32Array, batch.labels.label2);
    expect(losses.binary_cross_entropy_ctr.dataSync()[0]).toBeCloseTo(mean(ctr), 5);
    expect(losses.binary_cross_entropy_cvr.dataSync()[0]).toBeCloseTo(0.5 * weightedMean(cvr, w2), 5);
    model.dispose();
  });

  it('a task space weighs samples in it (indicator label > 0) and out of it apart, times the sample weight', () => {
    // TorchEasyRec's multi_task_rank: w·(in if indicator > 0 else out), normalised by its mean.
    const model = build(
      `${deep} simple_multi_task { ` +
        'task_towers { tower_name: "ctr" label_name: "label" mlp { hidden_units: [4] } losses { binary_cross_entropy {} } } ' +
        'task_towers { tower_name: "cvr" label_name: "label2" mlp { hidden_units: [4] } losses { binary_cross_entropy {} } sample_weight_name: "w2" task_space_indicator_label: "label" in_task_space_weight: 1.0 out_task_space_weight: 0.25 } }',
      'data_config { label_fields: "label" label_fields: "label2" sample_weight_fields: ["w1", "w2"] }\n',
    );
    const p = model.predict(batch);
    const cvr = bce(p.logits_cvr.dataSync() as Float32Array, batch.labels.label2);
    const w = Float32Array.from(w2, (x, i) => x * (batch.labels.label[i] > 0 ? 1 : 0.25));
    expect(model.loss(p, batch).binary_cross_entropy_cvr.dataSync()[0]).toBeCloseTo(weightedMean(cvr, w), 5);
    model.dispose();
  });
});

/** The exact AUC of scores against 0/1 labels, by pairs (a plain reference). */
function pairAuc(scores: Float32Array, labels: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < scores.length; i++)
    for (let j = 0; j < scores.length; j++)
      if (labels[i] > 0.5 && labels[j] <= 0.5) {
        den++;
        num += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
  return num / den;
}

afterAll(() => tf.disposeVariables());
