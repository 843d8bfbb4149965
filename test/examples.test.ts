/**
 * Every Criteo example in examples/ trains, unchanged but for its input paths, batch size and
 * epoch count, through the real `tsrec train_eval` on files written by
 * tools/gen_synthetic_criteo.js (the header and raw values the examples read, FG_NORMAL). Each
 * run must finish, save its final checkpoint, and write an evaluation with a finite AUC and loss.
 * This is what keeps the examples' claims in examples/README.md honest: a setting an example
 * uses that tsrec cannot run fails here, not in a user's first run.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT, requireBuiltCli, runCliOk } from './helpers/cli';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-examples-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TRAIN_ROWS = 2000;
const EVAL_ROWS = 500;
const BATCH = 256;
const train = path.join(tmp, 'train.tsv');
const evalPath = path.join(tmp, 'eval.tsv');

const EXAMPLES = fs
  .readdirSync(path.join(REPO_ROOT, 'examples'))
  .filter((n) => n.endsWith('_criteo.config'))
  .sort();

beforeAll(() => {
  const gen = path.join(REPO_ROOT, 'tools/gen_synthetic_criteo.js');
  // cardinality scale 0.01: columns of tens to thousands of ids, as in a small real sample
  const common = ['--seed', '3', '--cardinality-scale', '0.01'];
  execFileSync(process.execPath, [gen, '--rows', String(TRAIN_ROWS), ...common, '--out', train]);
  execFileSync(process.execPath, [
    gen,
    '--rows',
    String(EVAL_ROWS),
    ...common,
    '--first-row',
    String(TRAIN_ROWS),
    '--out',
    evalPath,
  ]);
}, 120_000);

test('the examples include the Criteo configs the README lists', () => {
  expect(EXAMPLES).toEqual(
    expect.arrayContaining([
      'dcn_v1_criteo.config',
      'dcn_v2_criteo.config',
      'deepfm_criteo.config',
      'dlrm_criteo.config',
      'mask_net_criteo.config',
      'multi_tower_criteo.config',
      'wide_and_deep_criteo.config',
      'xdeepfm_criteo.config',
    ]),
  );
});

test.each(EXAMPLES)(
  '%s trains and evaluates on generator files',
  async (name) => {
    const modelDir = path.join(tmp, name.replace(/\.config$/, ''));
    const edits = { 'data_config.batch_size': BATCH, 'train_config.num_epochs': 1 };
    const r = await runCliOk([
      'train_eval',
      '--pipeline_config_path',
      path.join(REPO_ROOT, 'examples', name),
      '--model_dir',
      modelDir,
      '--train_input_path',
      train,
      '--eval_input_path',
      evalPath,
      '--edit_config_json',
      JSON.stringify(edits),
    ]);
    const steps = Math.ceil(TRAIN_ROWS / BATCH);
    expect(r.out).toMatch(new RegExp(`^done: step ${steps}, `));
    const results = fs
      .readFileSync(path.join(modelDir, 'train_eval_result.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const last = results[results.length - 1]!;
    expect(last.global_step).toBe(steps);
    expect(Number.isFinite(last.auc)).toBe(true);
    expect(last.auc).toBeGreaterThan(0);
    expect(last.auc).toBeLessThan(1);
    expect(Number.isFinite(last.binary_cross_entropy)).toBe(true);
  },
  240_000,
);
