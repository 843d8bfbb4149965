/**
 * DeepFM on the synthetic Criteo-like set (issue 6): trained by the real `tsrec train_eval`, the
 * eval AUC comes close to the planted model's AUC on the same eval rows (the best any model can
 * reach; the example's data generator returns it).
 *
 * The example's settings (cardinality scale 0.1, 16-dim embeddings, MLP 256-128-64, batch 4096)
 * are made for throughput. At CI scale (a minute of training on 2 shared cores) we use, through
 * the config text only:
 * - cardinality scale 0.0005 (columns of 2..50 ids, Zipf) and 16× the example's hash buckets
 *   (2× cardinality leaves ~40% of ids colliding with another),
 * - the 13 counts bucketized (log-spaced boundaries) and embedded, also in the wide group: the
 *   planted logit is additive in log1p(count), which a lookup learns in a few hundred steps; the
 *   MLP had not learned it from the log10-normalized values (0 → -10) by the end of a run,
 * - batch 256, row-wise Adagrad 0.05, Adam 0.001, MLP 64-32, 16-dim embeddings.
 * What remains is the planted pairwise factor terms (16 of the 325 column pairs, k = 4), which
 * DeepFM's FM (over all pairs) and MLP learn slowly: see CI and FULL below, and README.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { requireBuiltCli, runCliOk } from './helpers/cli';
import { generateExampleData, syntheticConfigText, writeConfig } from './helpers/synthetic';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-synth-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SCALE = 0.0005;
const EVAL_ROWS = 20_000;
const BATCH = 256;

/** One setting of the test: rows × epochs and the AUC gap to the planted model it allows. */
interface Setting {
  trainRows: number;
  epochs: number;
  gap: number;
}

/**
 * The CI setting. Issue 6 asks for a gap of 0.01, which these 300,000 rows cannot give: the gap
 * is 0.0159 (deterministic: same data, same seed, bit-identical training) and more epochs on
 * these rows do not lower it. 0.02 leaves room for changes to initialisation or kernels without
 * hiding a real regression (the example's own settings land at 0.07). Measurements: README.md.
 */
const CI: Setting = { trainRows: 300_000, epochs: 2, gap: 0.02 };
/**
 * The bound, opt-in (TSREC_E2E_FULL=1): 1.2M rows × 3 epochs reached a gap of 0.0090
 * (2 epochs: 0.0114) in ~140 s of training plus ~30 s of data on a quiet machine.
 */
const FULL: Setting = { trainRows: 1_200_000, epochs: 3, gap: 0.01 };
const full = process.env.TSREC_E2E_FULL === '1';

async function trainToPlantedGap(s: Setting): Promise<void> {
  const t0 = Date.now();
  const data = await generateExampleData(path.join(tmp, 'cache'), {
    trainRows: s.trainRows,
    evalRows: EVAL_ROWS,
    seed: 1,
    cardinalityScale: SCALE,
  });
  const generated = (Date.now() - t0) / 1000;
  const modelDir = path.join(tmp, `model_${s.trainRows}_${s.epochs}`);
  const steps = s.epochs * Math.ceil(s.trainRows / BATCH);
  const config = writeConfig(
    path.join(tmp, `deepfm_synthetic_${s.trainRows}.config`),
    syntheticConfigText({
      train: data.train,
      eval: data.eval,
      modelDir,
      cardinalityScale: SCALE,
      epochs: s.epochs,
      batchSize: BATCH,
      // Evaluate once, at the end (20,000 rows take a few seconds each time).
      saveCheckpointsSteps: steps,
      logStepCountSteps: 200,
      numWorkers: 1,
      shuffleBufferSize: 65536,
      sparseLr: 0.05,
      denseOptimizer: 'adam_optimizer { lr: 0.001 } constant_learning_rate {}',
      embeddingDim: 16,
      hiddenUnits: [64, 32],
      hashBucketFactor: 16,
      bucketizeCounts: true,
    }),
  );
  const r = await runCliOk(['train_eval', '--pipeline_config_path', config]);
  const m = /^done: step (\d+), ([\d,]+) samples\/s, eval auc ([\d.]+) {2}binary_cross_entropy ([\d.]+);/.exec(r.out);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBe(steps);
  const auc = Number(m![3]);
  const logloss = Number(m![4]);
  process.stderr.write(
    `synthetic DeepFM: eval AUC ${auc.toFixed(4)} vs planted ${data.plantedAuc.toFixed(4)} (gap ${(data.plantedAuc - auc).toFixed(4)}), logloss ${logloss.toFixed(4)}; ` +
      `${s.trainRows.toLocaleString('en-US')} rows × ${s.epochs} epochs, ${m![2]} samples/s, data ${generated.toFixed(0)} s, train_eval ${r.seconds.toFixed(0)} s\n`,
  );
  expect(auc).toBeGreaterThan(data.plantedAuc - s.gap);
  expect(auc).toBeLessThan(data.plantedAuc + 0.005);
}

describe('DeepFM on the synthetic Criteo-like set', () => {
  it(`reaches an eval AUC within ${CI.gap} of the planted model's (${CI.trainRows.toLocaleString('en-US')} rows × ${CI.epochs} epochs)`, () =>
    trainToPlantedGap(CI));

  (full ? it : it.skip)(
    `reaches an eval AUC within ${FULL.gap} of the planted model's (${FULL.trainRows.toLocaleString('en-US')} rows × ${FULL.epochs} epochs; TSREC_E2E_FULL=1)`,
    () => trainToPlantedGap(FULL),
    900000,
  );
});
