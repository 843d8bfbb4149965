import * as tf from '@tensorflow/tfjs-core';
import { listFeatures, loadPipelineConfig } from '@tsrec/config';
import { EmbeddingCollection } from '@tsrec/native';

import { exactAuc } from '../metrics/auc';
import { SyntheticCtrTask } from '../testing/synthetic_task';
import { setUpTfjs } from '../tfjs_setup';
import { createModel, DeepFM, DLRM, registeredModels, WideAndDeep, type ModelContext, type ModelFeature, type RankModel } from './index';

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
};
const tail = 'losses { binary_cross_entropy {} } metrics { auc {} } metrics { normalized_entropy {} }';

function contextFor(modelConfig: string): { config: ReturnType<typeof loadPipelineConfig>; ctx: ModelContext; collections: EmbeddingCollection[] } {
  const config = loadPipelineConfig(task.configText(modelConfig));
  const features: ModelFeature[] = listFeatures(config).map((f) => ({
    name: f.name,
    isSparse: f.isSparse,
    embeddingDim: f.embeddingDim,
    tableName: f.tableName,
    numRows: f.numRows,
    valueDim: f.message.valueDim || 1,
  }));
  const collections: EmbeddingCollection[] = [];
  const ctx: ModelContext = {
    features,
    // The test decides where tables live (native CPU, Adagrad); the model only sees the interface.
    createEmbeddingCollection: (spec) => {
      const c = new EmbeddingCollection({ ...spec, optimizer: { type: 'adagrad' }, seed: 3 });
      collections.push(c);
      return c;
    },
    sparseLearningRate: 0.05,
    labelName: 'label',
    seed: 11,
  };
  return { config, ctx, collections };
}

function train(model: RankModel, steps: number, B = 256): number[] {
  const opt = tf.train.adam(0.005);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(model.trainStep(task.batch(B).batch, opt));
  opt.dispose();
  return losses;
}

function evaluate(model: RankModel): { metrics: Record<string, number>; plantedAuc: number } {
  const { batch, planted } = task.batch(4000);
  tf.tidy(() => model.updateMetrics(model.predict(batch), batch));
  return { metrics: model.computeMetrics(), plantedAuc: exactAuc(planted, batch.labels.label) };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.each([
  ['deepfm', DeepFM, `${groups.wide} ${groups.fm} ${groups.deep} deepfm { deep { hidden_units: [32, 16] } } ${tail}`, 6 * 4 * 50 /* not dense */],
  ['wide_and_deep', WideAndDeep, `${groups.wide} ${groups.deep} wide_and_deep { deep { hidden_units: [32, 16] } } ${tail}`, 0],
  ['dlrm', DLRM, `${groups.dense} ${groups.sparse} dlrm { dense_mlp { hidden_units: [16, 8] } final { hidden_units: [32, 16] } } ${tail}`, 0],
])('%s', (name, cls, modelConfig) => {
  it('is built from config by name, with the expected shapes and dense parameter count', () => {
    const { config, ctx, collections } = contextFor(modelConfig);
    const model = createModel(config.modelConfig!, ctx);
    expect(model).toBeInstanceOf(cls);
    expect(registeredModels()).toEqual(expect.arrayContaining(['deepfm', 'dlrm', 'wide_and_deep']));
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
    };
    expect(model.denseParameterCount).toBe(expected[name]);
    // Wide models have a second collection of 4-wide tables named <table>_wide.
    expect(collections.map((c) => c.tables.map((t) => `${t.name}:${t.dim}`).join(','))).toEqual(
      name === 'dlrm' ? [task.sparseNames.map((n) => `${n}:8`).join(',')] : [task.sparseNames.map((n) => `${n}:8`).join(','), task.sparseNames.map((n) => `${n}_wide:4`).join(',')],
    );
    model.dispose();
    collections.forEach((c) => c.dispose());
  });

  it('trains: loss falls and AUC rises well above chance on the planted task', () => {
    const { config, ctx, collections } = contextFor(modelConfig);
    const model = createModel(config.modelConfig!, ctx);
    const before = evaluate(model).metrics.auc;
    const tensorsBefore = tf.memory().numTensors;
    const losses = train(model, 300);
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

describe('model construction errors', () => {
  it('names the missing group and the model', () => {
    const { config, ctx } = contextFor(`${groups.deep} deepfm { deep { hidden_units: [8] } } ${tail}`);
    expect(() => createModel(config.modelConfig!, ctx)).toThrow("Expected a feature group named 'wide' for model deepfm but received groups 'deep'");
  });
  it('rejects a dense_mlp whose width differs from the sparse embedding dim', () => {
    const { config, ctx } = contextFor(`${groups.dense} ${groups.sparse} dlrm { dense_mlp { hidden_units: [16, 4] } } ${tail}`);
    expect(() => createModel(config.modelConfig!, ctx)).toThrow('Expected the last of dlrm.dense_mlp.hidden_units to equal the sparse embedding_dim 8 but received 4');
  });
  it('reports unregistered models as not supported yet', () => {
    const { config, ctx } = contextFor(`${groups.deep} mask_net {} ${tail}`);
    expect(() => createModel(config.modelConfig!, ctx)).toThrow("model 'mask_net' is not supported yet (registered: deepfm, dlrm, wide_and_deep)");
  });
});
