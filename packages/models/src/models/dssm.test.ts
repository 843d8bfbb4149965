import * as tf from '@tensorflow/tfjs-core';

import { RecallAtKMetric } from '../metrics/recall_at_k';
import { SeededRandom } from '../testing/seeded_random';
import { SyntheticMatchTask } from '../testing/synthetic_match_task';
import { testContext } from '../testing/test_context';
import { setUpTfjs } from '../tfjs_setup';
import { createModel, DSSM, type TrainableModel } from './index';

const BACKEND = process.env.TSREC_TEST_BACKEND ?? 'cpu';
beforeAll(() => setUpTfjs(BACKEND));

const task = new SyntheticMatchTask();
const head =
  'losses { softmax_cross_entropy {} } metrics { recall_at_k { top_k: 5 } } metrics { recall_at_k { top_k: 1 } }';
const dssm = (similarity: string, temperature: number, outputDim = 8) =>
  `dssm { user_tower { input: "user" mlp { hidden_units: [32, 16] } } item_tower { input: "item" mlp { hidden_units: [32, 16] } } output_dim: ${outputDim} similarity: ${similarity} temperature: ${temperature} in_batch_negative: true } ${head}`;

/** Mean recall@k over `n` evaluation batches of 64 (chance: k/64). */
function evaluate(model: TrainableModel, n = 8): Record<string, number> {
  for (let i = 0; i < n; i++) {
    const batch = task.batch(64);
    tf.tidy(() => model.updateMetrics(model.predict(batch), batch));
  }
  return model.computeMetrics();
}

describe('dssm', () => {
  it('is built from config, with [B, B] similarity, tower embeddings, collections by role and the expected parameter count', () => {
    const { config, ctx, collections, roles } = testContext(task.configText(dssm('INNER_PRODUCT', 1)));
    const model = createModel(config.modelConfig!, ctx) as DSSM;
    expect(model).toBeInstanceOf(DSSM);
    expect(roles).toEqual(['user', 'item']);
    expect(Object.keys(model.embeddingCollections())).toEqual(['user', 'item']);
    expect(collections.map((c) => c.tables.map((t) => `${t.name}:${t.rows}x${t.dim}`).join(','))).toEqual([
      'user_id:200x16',
      'item_id:400x16',
    ]);
    const batch = task.batch(6);
    tf.tidy(() => {
      const p = model.predict(batch);
      expect(Object.keys(p).sort()).toEqual(['item_tower_emb', 'similarity', 'user_tower_emb']);
      expect(p.similarity.shape).toEqual([6, 6]);
      expect(p.user_tower_emb.shape).toEqual([6, 8]);
      expect(p.item_tower_emb.shape).toEqual([6, 8]);
      // similarity = user · itemᵀ; a tower alone gives the same embeddings (export).
      const sim = tf.matMul(p.user_tower_emb, p.item_tower_emb, false, true);
      expect(Array.from(p.similarity.dataSync())).toEqual(Array.from(sim.dataSync()));
      expect(Array.from(model.predictTower('item', batch).item_tower_emb.dataSync())).toEqual(
        Array.from(p.item_tower_emb.dataSync()),
      );
      expect(Object.keys(model.loss(p, batch))).toEqual(['softmax_cross_entropy']);
    });
    // user 16 + 1 dense → 32 → 16 → 8; item 16 → 32 → 16 → 8
    expect(model.denseParameterCount).toBe(
      17 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8 + (16 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8),
    );
    expect(model.namedVariables().map(([n]) => n)).toEqual([
      'user_tower/mlp/mlp_0/kernel',
      'user_tower/mlp/mlp_0/bias',
      'user_tower/mlp/mlp_1/kernel',
      'user_tower/mlp/mlp_1/bias',
      'user_tower/output/kernel',
      'user_tower/output/bias',
      'item_tower/mlp/mlp_0/kernel',
      'item_tower/mlp/mlp_0/bias',
      'item_tower/mlp/mlp_1/kernel',
      'item_tower/mlp/mlp_1/bias',
      'item_tower/output/kernel',
      'item_tower/output/bias',
    ]);
    model.dispose();
    collections.forEach((c) => c.dispose());
  });

  it('normalises tower embeddings for COSINE and divides by the temperature', () => {
    const { config, ctx, collections } = testContext(task.configText(dssm('COSINE', 0.05)));
    const model = createModel(config.modelConfig!, ctx) as DSSM;
    const batch = task.batch(5);
    tf.tidy(() => {
      const p = model.predict(batch);
      const norms = tf.sqrt(tf.sum(tf.mul(p.user_tower_emb, p.user_tower_emb), 1)).dataSync();
      for (const n of norms) expect(n).toBeCloseTo(1, 5);
      const sim = tf.div(tf.matMul(p.user_tower_emb, p.item_tower_emb, false, true), 0.05).dataSync();
      const got = p.similarity.dataSync();
      sim.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
      for (const v of got) expect(Math.abs(v)).toBeLessThanOrEqual(20 + 1e-3);
    });
    model.dispose();
    collections.forEach((c) => c.dispose());
  });

  it.each([
    // Planted optimum ≈ 0.85 (recall@5) and ≈ 0.27 (recall@1); chance 0.08 and 0.016.
    ['INNER_PRODUCT', 1, 0.45, 0.1],
    ['COSINE', 0.1, 0.7, 0.18],
  ])(
    'trains with in-batch negatives (%s, temperature %s): loss falls and recall@k rises well above chance',
    (similarity, temperature, recall5, recall1) => {
      const { config, ctx, collections } = testContext(
        task.configText(dssm(similarity as string, temperature as number)),
      );
      const model = createModel(config.modelConfig!, ctx);
      const before = evaluate(model);
      const tensorsBefore = tf.memory().numTensors;
      const opt = tf.train.adam(0.005);
      const losses: number[] = [];
      for (let s = 0; s < 200; s++) losses.push(model.trainStep(task.batch(128), opt));
      opt.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore); // no tensor leaks per step
      const after = evaluate(model);
      if (process.env.TSREC_TEST_VERBOSE) console.log(similarity, before, after, losses.slice(0, 3), losses.slice(-3));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(losses.slice(-30))).toBeLessThan(mean(losses.slice(0, 30)) * 0.85);
      // Chance is 5/64 ≈ 0.08 and 1/64; the planted clusters put ~3 items of a batch in a user's cluster.
      expect(before['recall@5']).toBeLessThan(0.2);
      expect(after['recall@5']).toBeGreaterThan(recall5 as number);
      expect(after['recall@1']).toBeGreaterThan(recall1 as number);
      model.dispose();
      collections.forEach((c) => c.dispose());
    },
  );

  it('updates recall@k like RecallAtKMetric with diagonal labels, ties included', () => {
    const { config, ctx, collections } = testContext(task.configText(dssm('INNER_PRODUCT', 1)));
    const model = createModel(config.modelConfig!, ctx);
    const B = 40;
    const r = new SeededRandom(4);
    const reference = [new RecallAtKMetric(5), new RecallAtKMetric(1)];
    for (let n = 0; n < 3; n++) {
      const preds = Float32Array.from({ length: B * B }, () => r.int(6)); // many ties
      const labels = new Float32Array(B * B);
      for (let b = 0; b < B; b++) labels[b * B + b] = 1;
      reference.forEach((m) => m.update({ preds, labels, columns: B }));
      const similarity = tf.tensor2d(preds, [B, B]);
      model.updateMetrics({ similarity }, task.batch(B));
      similarity.dispose();
    }
    expect(model.computeMetrics()).toEqual({ 'recall@5': reference[0].compute(), 'recall@1': reference[1].compute() });
    const bad = tf.tensor2d(
      Float32Array.from({ length: 4 }, (_, i) => (i === 2 ? NaN : 0)),
      [2, 2],
    );
    expect(() => model.updateMetrics({ similarity: bad }, task.batch(2))).toThrow(
      "Expected finite preds for metric 'recall@5' but received NaN at index 2 (sample 1)",
    );
    bad.dispose();
    model.dispose();
    collections.forEach((c) => c.dispose());
  });

  it('names unsupported settings and missing groups', () => {
    const build = (text: string) => {
      const { config, ctx } = testContext(task.configText(text));
      return () => createModel(config.modelConfig!, ctx);
    };
    expect(build(dssm('INNER_PRODUCT', 1).replace('in_batch_negative: true', 'in_batch_negative: false'))).toThrow(
      'dssm with in_batch_negative false (negatives from a sampler) is not supported yet; set in_batch_negative: true',
    );
    expect(build(dssm('INNER_PRODUCT', 1).replace('input: "item"', 'input: "items"'))).toThrow(
      "Expected a feature group named 'items' for dssm.item_tower.input but received groups 'user', 'item'",
    );
    expect(
      build(dssm('INNER_PRODUCT', 1).replace('metrics { recall_at_k { top_k: 5 } }', 'metrics { auc {} }')),
    ).toThrow("metric 'auc' is not supported for model dssm (supported: recall_at_k)");
  });
});
