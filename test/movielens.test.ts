/**
 * MovieLens-100K with RecBole's context-aware protocol (../shared/data/ACCURACY.md, 1b): label
 * rating >= 4, a global random 80/10/10 split (seeded), user features (age, gender, occupation),
 * item features (release_year, genre tokens as one multi-value id feature), user_id, item_id and
 * the min-max normalized timestamp. DeepFM trained by `tsrec train_eval` (train 80%, eval on the
 * valid 10% after each epoch), then `tsrec eval` on the test 10%: test AUC >= 0.78, above the
 * published LR result (0.7765 AUC, 0.562 logloss). Figures we measured are in README.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadPipelineConfig } from '@tsrec/config';
import { createDataLoaderFromConfig } from '@tsrec/data';

import { requireBuiltCli, runCliOk } from './helpers/cli';
import { describeWithSharedData } from './helpers/shared_data';
import {
  ML100K_FILE,
  movieLensConfigText,
  writeMovieLensSplits,
  type MovieLensModelOptions,
} from './helpers/movielens';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-ml100k-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The settings the README's figures come from. */
const ML_SETTINGS: MovieLensModelOptions = {
  embeddingDim: 16,
  epochs: 4,
  batchSize: 1024,
  sparseLr: 0.05,
  denseLr: 0.001,
  hiddenUnits: [128, 64],
  useTimestamp: true,
  numWorkers: 1,
};

describeWithSharedData([ML100K_FILE], 'DeepFM on MovieLens-100K (RecBole context-aware protocol)', () => {
  const splits = writeMovieLensSplits(path.join(tmp, 'data'), 2020);
  const modelDir = path.join(tmp, 'model');
  const config = path.join(tmp, 'deepfm_ml100k.config');
  // The input paths come from the command line (the config's are overridden).
  fs.writeFileSync(
    config,
    movieLensConfigText({ ...splits, train: 'unused_train.csv', valid: 'unused_valid.csv' }, modelDir, ML_SETTINGS),
  );

  it('splits all 100,000 ratings 80/10/10 with about 55% positives', () => {
    expect(splits.rows).toEqual({ train: 80000, valid: 10000, test: 10000 });
    const positives =
      splits.positiveRate.train * 80000 + splits.positiveRate.valid * 10000 + splits.positiveRate.test * 10000;
    expect(Math.round(positives)).toBe(55375);
    const first = fs.readFileSync(splits.train, 'utf8').split('\n').slice(0, 2);
    expect(first[0]).toBe('label,user_id,item_id,age,gender,occupation,release_year,genres,timestamp');
    expect(first[1]).toMatch(/^[01],\d+,\d+,\d+,[MF],[a-z]+,\d*,[A-Za-z'|-]+,\d+$/);
  });

  it('reads the genres as one multi-value id feature (a bag of 1-6 ids per row)', async () => {
    const c = loadPipelineConfig(movieLensConfigText(splits, modelDir, ML_SETTINGS));
    const loader = createDataLoaderFromConfig(c, {
      mode: 'eval',
      inputPath: splits.test,
      numWorkers: 0,
      batchSize: 500,
    });
    try {
      for await (const batch of loader) {
        const f = batch.sparse.keys.indexOf('genres');
        expect(f).toBeGreaterThanOrEqual(0);
        const B = batch.batchSize;
        const sizes = Array.from(
          { length: B },
          (_, b) => batch.sparse.offsets[f * B + b + 1] - batch.sparse.offsets[f * B + b],
        );
        const genres = fs
          .readFileSync(splits.test, 'utf8')
          .split('\n')
          .slice(1, B + 1)
          .map((l) => l.split(',')[7].split('|').length);
        expect(sizes).toEqual(genres);
        expect(Math.max(...sizes)).toBeGreaterThan(1);
        break;
      }
    } finally {
      await loader.close();
    }
  });

  it('reaches a test AUC >= 0.78 (published LR: 0.7765)', async () => {
    const t = await runCliOk([
      'train_eval',
      '--pipeline_config_path',
      config,
      '--train_input_path',
      splits.train,
      '--eval_input_path',
      splits.valid,
    ]);
    const epochs = ML_SETTINGS.epochs!;
    const steps = epochs * Math.ceil(80000 / ML_SETTINGS.batchSize!);
    expect(t.out).toMatch(new RegExp(`^done: step ${steps}, `));
    const valid = fs
      .readFileSync(path.join(modelDir, 'train_eval_result.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { global_step: number; auc: number; binary_cross_entropy: number });
    expect(valid).toHaveLength(epochs);

    const e = await runCliOk([
      'eval',
      '--pipeline_config_path',
      config,
      '--eval_input_path',
      splits.test,
      '--eval_result_filename',
      'test_result.txt',
    ]);
    const test = JSON.parse(fs.readFileSync(path.join(modelDir, 'test_result.txt'), 'utf8').trim()) as {
      global_step: number;
      auc: number;
      binary_cross_entropy: number;
    };
    expect(e.out).toBe(
      `eval of ${path.join(modelDir, `model.ckpt-${steps}`)} (step ${steps}): auc ${test.auc.toFixed(6)}  binary_cross_entropy ${test.binary_cross_entropy.toFixed(6)}\n`,
    );
    process.stderr.write(
      `MovieLens-100K DeepFM: valid AUC by epoch ${valid.map((v) => v.auc.toFixed(4)).join(' ')}; test AUC ${test.auc.toFixed(4)}, logloss ${test.binary_cross_entropy.toFixed(4)} (train_eval ${t.seconds.toFixed(0)} s)\n`,
    );
    expect(test.global_step).toBe(steps);
    expect(test.auc).toBeGreaterThanOrEqual(0.78);
    expect(test.binary_cross_entropy).toBeLessThan(0.562);
  });
});
