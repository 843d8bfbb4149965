/**
 * Export/predict parity through the real CLI (issue 6, "Checkpoints and export"): `tsrec export`
 * writes a self-contained directory; `tsrec predict` on it (after the model_dir, the training
 * config and the training data are gone) gives the same outputs, to 1e-6, as `tsrec predict`
 * from the checkpoint with its pipeline config; both agree with `tsrec eval`'s AUC.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { requireBuiltCli, runCliOk } from './helpers/cli';
import { generateExampleData, syntheticConfigText, writeConfig, type ExampleDataPaths } from './helpers/synthetic';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-export-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SCALE = 0.002;
const modelDir = path.join(tmp, 'model');
const config = path.join(tmp, 'deepfm.config');
let data: ExampleDataPaths;

interface Csv {
  header: string[];
  rows: string[][];
}
function readCsv(file: string): Csv {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

/** AUC of scores against 0/1 labels (average ranks for ties). */
function auc(scores: number[], labels: number[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    for (let k = i; k <= j; k++)
      if (labels[idx[k]] === 1) {
        pos++;
        rankSum += (i + j) / 2 + 1;
      }
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * (idx.length - pos));
}

describe('tsrec export / predict', () => {
  let fromCheckpoint: Csv;
  let evalAuc: number;
  const exportDir = path.join(tmp, 'export');
  const input = path.join(tmp, 'predict_input.tsv');

  beforeAll(async () => {
    data = await generateExampleData(path.join(tmp, 'cache'), {
      trainRows: 4000,
      evalRows: 1000,
      seed: 11,
      cardinalityScale: SCALE,
    });
    writeConfig(
      config,
      syntheticConfigText({
        train: data.train,
        eval: data.eval,
        modelDir,
        cardinalityScale: SCALE,
        epochs: 2,
        batchSize: 256,
        saveCheckpointsSteps: 10,
        numWorkers: 1,
        hiddenUnits: [64, 32],
      }),
    );
    const t = await runCliOk(['train_eval', '--pipeline_config_path', config]);
    expect(t.out).toMatch(/^done: step 32, /);
    fs.copyFileSync(data.eval, input);
    const e = await runCliOk(['eval', '--pipeline_config_path', config]);
    evalAuc = Number(/ auc ([\d.]+)/.exec(e.out)![1]);
    const out = path.join(tmp, 'from_checkpoint.csv');
    await runCliOk([
      'predict',
      '--checkpoint_path',
      path.join(modelDir, 'model.ckpt-32'),
      '--pipeline_config_path',
      config,
      '--predict_input_path',
      input,
      '--predict_output_path',
      out,
      '--reserved_columns',
      'label,C1',
    ]);
    fromCheckpoint = readCsv(out);
    const x = await runCliOk(['export', '--pipeline_config_path', config, '--export_dir', exportDir]);
    expect(x.out).toBe(`exported step 32 of ${path.join(modelDir, 'model.ckpt-32')} to ${exportDir}\n`);
  }, 300000);

  it('predict from the checkpoint: reserved columns, then the outputs, one row per input row; AUC as tsrec eval', () => {
    expect(fromCheckpoint.header).toEqual(['label', 'C1', 'logits', 'probs']);
    expect(fromCheckpoint.rows).toHaveLength(1000);
    const labels = fromCheckpoint.rows.map((r) => Number(r[0]));
    const probs = fromCheckpoint.rows.map((r) => Number(r[3]));
    for (const p of probs) expect(p > 0 && p < 1).toBe(true);
    expect(auc(probs, labels)).toBeCloseTo(evalAuc, 5);
    // The rows are the input's, in order.
    const inputC1 = fs
      .readFileSync(input, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[14]);
    expect(fromCheckpoint.rows.map((r) => r[1])).toEqual(inputC1);
  });

  it("the export is self-contained: predictions without model_dir, config and training data equal the checkpoint's to 1e-6", async () => {
    expect(fs.readdirSync(exportDir)).toEqual(
      expect.arrayContaining(['export_info.json', 'model.ckpt-32', 'pipeline.config']),
    );
    // Nothing of training may be needed any more.
    fs.rmSync(modelDir, { recursive: true });
    fs.rmSync(config);
    fs.rmSync(path.dirname(data.train), { recursive: true });
    const out = path.join(tmp, 'from_export.csv');
    const r = await runCliOk([
      'predict',
      '--scripted_model_path',
      exportDir,
      '--predict_input_path',
      input,
      '--predict_output_path',
      out,
      '--reserved_columns',
      'label,C1',
    ]);
    expect(r.out).toBe(`predicted 1,000 rows into ${out}\n`);
    const fromExport = readCsv(out);
    expect(fromExport.header).toEqual(fromCheckpoint.header);
    expect(fromExport.rows).toHaveLength(fromCheckpoint.rows.length);
    let worst = 0;
    fromExport.rows.forEach((row, i) => {
      expect(row.slice(0, 2)).toEqual(fromCheckpoint.rows[i].slice(0, 2));
      for (const c of [2, 3]) worst = Math.max(worst, Math.abs(Number(row[c]) - Number(fromCheckpoint.rows[i][c])));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('--export_dir is an alias of --scripted_model_path, --output_columns selects outputs, .parquet writes the same values as Parquet', async () => {
    const out = path.join(tmp, 'probs.csv');
    await runCliOk([
      'predict',
      '--export_dir',
      exportDir,
      '--predict_input_path',
      input,
      '--predict_output_path',
      out,
      '--output_columns',
      'probs',
    ]);
    const probs = readCsv(out);
    expect(probs.header).toEqual(['probs']);
    probs.rows.forEach((r, i) =>
      expect(Math.abs(Number(r[0]) - Number(fromCheckpoint.rows[i][3]))).toBeLessThanOrEqual(1e-6),
    );
    const pq = path.join(tmp, 'pred.parquet');
    await runCliOk(['predict', '--export_dir', exportDir, '--predict_input_path', input, '--predict_output_path', pq]);
    expect(fs.readFileSync(pq).subarray(0, 4).toString('latin1')).toBe('PAR1');
    // hyparquet (ESM) reads it back; jest transforms it (jest.preset.js).
    const hyparquet = require('hyparquet') as {
      asyncBufferFromFile(file: string): Promise<unknown>;
      parquetReadObjects(o: { file: unknown }): Promise<Record<string, unknown>[]>;
    };
    const rows = await hyparquet.parquetReadObjects({ file: await hyparquet.asyncBufferFromFile(pq) });
    expect(rows).toHaveLength(fromCheckpoint.rows.length);
    expect(Object.keys(rows[0]).sort()).toEqual(['logits', 'probs']);
    rows.forEach((r, i) => {
      expect(Math.abs(Number(r.probs) - Number(fromCheckpoint.rows[i][3]))).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(Number(r.logits) - Number(fromCheckpoint.rows[i][2]))).toBeLessThanOrEqual(1e-6);
    });
  });
});
