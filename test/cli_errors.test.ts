/**
 * The real `tsrec` binary on bad command lines, bad configs and bad data (issue 6, "The CLI"):
 * exit status 2 with one message line for usage and config errors (config errors name
 * file:line:column and the field), 1 for runtime failures such as a malformed row under the
 * `fail` policy (naming file:line and the column), and never a stack trace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { hasStackTrace, requireBuiltCli, runCli, type CliResult } from './helpers/cli';
import { generateExampleData, syntheticConfigText, writeConfig, type ExampleDataPaths } from './helpers/synthetic';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SCALE = 0.001;
let data: ExampleDataPaths;
let goodConfig: string;
let goodLines: string[];
beforeAll(async () => {
  data = await generateExampleData(path.join(tmp, 'cache'), {
    trainRows: 600,
    evalRows: 300,
    seed: 2,
    cardinalityScale: SCALE,
  });
  goodConfig = writeConfig(
    path.join(tmp, 'good.config'),
    syntheticConfigText({
      train: data.train,
      eval: data.eval,
      modelDir: path.join(tmp, 'model'),
      cardinalityScale: SCALE,
      epochs: 1,
      batchSize: 128,
      numWorkers: 1,
      hiddenUnits: [32],
    }),
  );
  goodLines = fs.readFileSync(goodConfig, 'utf8').split('\n');
});
/** 1-based line of the good config holding `needle`. */
const lineOf = (needle: string) => goodLines.findIndex((l) => l.includes(needle)) + 1;

/** A config that is the good one with one edit, written to `<name>.config`. */
function variant(name: string, from: string | RegExp, to: string): string {
  const text = fs.readFileSync(goodConfig, 'utf8');
  const out = text.replace(from, to);
  if (out === text) throw new Error(`variant ${name}: ${String(from)} not found`);
  return writeConfig(path.join(tmp, `${name}.config`), out);
}

/** Checks the shape every failure shares: the status, nothing on stdout, no stack trace; returns stderr's lines. */
function failed(r: CliResult, code: 1 | 2): string[] {
  if (r.code !== code)
    throw new Error(`Expected exit status ${code} but received ${r.code ?? r.signal}; stderr:\n${r.err}`);
  expect(r.out).toBe('');
  expect(hasStackTrace(r.err)).toBe(false);
  expect(r.err.endsWith('\n')).toBe(true);
  return r.err.slice(0, -1).split('\n');
}

/** Exit 2 and exactly one stderr line, which is returned. */
async function usageError(...args: string[]): Promise<string> {
  const lines = failed(await runCli(args), 2);
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe('usage errors: exit 2, one line', () => {
  it('an unknown command', async () => {
    expect(await usageError('trian_eval')).toBe(
      "tsrec: Expected a command (train_eval, eval, export, predict, plan, info) but received 'trian_eval'; see tsrec --help",
    );
  });

  it('a missing required flag, an unknown flag, a flag without its value, a stray argument', async () => {
    expect(await usageError('train_eval', '--model_dir', path.join(tmp, 'm'))).toBe(
      'tsrec: Expected --pipeline_config_path for tsrec train_eval (the pipeline config (protobuf text or .json))',
    );
    expect(await usageError('train_eval', '--pipeline_config', goodConfig)).toBe(
      'tsrec: Unknown flag --pipeline_config for tsrec train_eval (did you mean --pipeline_config_path?); see tsrec train_eval --help',
    );
    expect(await usageError('eval', '--pipeline_config_path')).toBe(
      'tsrec: Expected a value after --pipeline_config_path',
    );
    expect(await usageError('train_eval', '--pipeline_config_path', goodConfig, '--continue_train', 'maybe')).toBe(
      "tsrec: Expected a flag (--name value) but received 'maybe'; see tsrec train_eval --help",
    );
    expect(await usageError('export', '--pipeline_config_path', goodConfig)).toBe(
      'tsrec: Expected --export_dir for tsrec export (the new export directory)',
    );
  });

  it('a pipeline config that does not exist, predict without a model, an export directory that is not one', async () => {
    const nope = path.join(tmp, 'nope.config');
    expect(await usageError('train_eval', '--pipeline_config_path', nope)).toBe(
      `tsrec train_eval: Expected an existing file for --pipeline_config_path but received '${nope}'`,
    );
    expect(
      await usageError('predict', '--predict_input_path', data.eval, '--predict_output_path', path.join(tmp, 'p.csv')),
    ).toBe(
      'tsrec predict: Expected --scripted_model_path (an export directory), or --checkpoint_path with --pipeline_config_path',
    );
    expect(
      await usageError(
        'predict',
        '--scripted_model_path',
        tmp,
        '--predict_input_path',
        data.eval,
        '--predict_output_path',
        path.join(tmp, 'p.csv'),
      ),
    ).toBe(
      `tsrec predict: Expected an export directory (with export_info.json) but received '${tmp}'; create one with tsrec export`,
    );
    expect(
      await usageError(
        'export',
        '--pipeline_config_path',
        goodConfig,
        '--model_dir',
        path.join(tmp, 'empty'),
        '--export_dir',
        path.join(tmp, 'export'),
      ),
    ).toMatch(
      /^tsrec export: Expected a checkpoint to export \(--checkpoint_path, or a model_dir with checkpoints\) but found none/,
    );
  });

  it('--help of each command exits 0 and lists its flags', async () => {
    for (const cmd of ['train_eval', 'eval', 'export', 'predict']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: tsrec ${cmd} \\[flags\\]`));
      expect(r.err).toBe('');
    }
  });
});

describe('config errors: exit 2, naming file:line:column and the field', () => {
  it('parse errors: an unknown field, a value of the wrong type, a bad enum value, a missing brace', async () => {
    const numSteps = variant('unknown_field', 'log_step_count_steps: 20', 'log_step_count_stepz: 20');
    expect(await usageError('train_eval', '--pipeline_config_path', numSteps)).toBe(
      `tsrec train_eval: unknown field 'log_step_count_stepz' in train_config at ${numSteps}:${lineOf('log_step_count_steps')}:3 — did you mean 'log_step_count_steps'?`,
    );
    const batch = variant('wrong_type', 'batch_size: 128', 'batch_size: "big"');
    expect(await usageError('train_eval', '--pipeline_config_path', batch)).toBe(
      `tsrec train_eval: expected an unsigned 32-bit integer for batch_size but received "big" in data_config at ${batch}:${lineOf('batch_size')}:15`,
    );
    const enumValue = variant('bad_enum', 'dataset_type: CsvDataset', 'dataset_type: CsvDatasett');
    expect(await usageError('train_eval', '--pipeline_config_path', enumValue)).toBe(
      `tsrec train_eval: expected one of OdpsDataset, ParquetDataset, CsvDataset, OdpsDatasetV1, KafkaDataset for dataset_type but received 'CsvDatasett' in data_config at ${enumValue}:${lineOf('dataset_type')}:17 — did you mean 'CsvDataset'?`,
    );
    const negative = variant('negative_units', /hidden_units: \[32\]/, 'hidden_units: [32, -1]');
    expect(await usageError('train_eval', '--pipeline_config_path', negative)).toMatch(
      new RegExp(
        `^tsrec train_eval: expected an unsigned 32-bit integer for hidden_units but received -1 in model_config\\.deepfm\\.deep at ${escapeRegExp(negative)}:${lineOf('hidden_units')}:\\d+$`,
      ),
    );
    const brace = writeConfig(path.join(tmp, 'brace.config'), 'data_config {\n  batch_size: 10\n');
    expect(await usageError('train_eval', '--pipeline_config_path', brace)).toBe(
      `tsrec train_eval: missing '}' to close 'data_config' opened at line 1, column 13 in data_config at ${brace}:3:1`,
    );
  });

  it('validation errors: an undefined feature in a group, batch_size 0 (one line per problem, each located)', async () => {
    const group = variant(
      'undefined_feature',
      'feature_names: "C26" group_type: WIDE',
      'feature_names: "C27" group_type: WIDE',
    );
    const lines = failed(await runCli(['train_eval', '--pipeline_config_path', group]), 2);
    // One problem is one line (several are listed one per line under a header).
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^tsrec train_eval: invalid pipeline config: model_config\\.feature_groups\\[0\\]\\.feature_names\\[25\\]: feature 'C27' in group 'wide' is not defined in feature_configs — did you mean 'C2'\\? \\(${escapeRegExp(group)}:${lineOf('group_type: WIDE')}:\\d+\\)$`,
        ),
      ),
    ]);
    const zero = variant('zero_batch', 'batch_size: 128', 'batch_size: 0');
    expect(failed(await runCli(['train_eval', '--pipeline_config_path', zero]), 2)).toEqual([
      `tsrec train_eval: invalid pipeline config: data_config.batch_size: expected batch_size > 0 but received 0 (${zero}:${lineOf('batch_size')}:3)`,
    ]);
  });

  it('--edit_config_json errors: invalid JSON, an unknown field', async () => {
    expect(
      await usageError(
        'train_eval',
        '--pipeline_config_path',
        goodConfig,
        '--edit_config_json',
        '{"data_config.batch_size": ',
      ),
    ).toMatch(/^tsrec train_eval: invalid JSON in --edit_config_json: /);
    expect(
      await usageError(
        'train_eval',
        '--pipeline_config_path',
        goodConfig,
        '--edit_config_json',
        '{"data_config.batch_sise": 10}',
      ),
    ).toBe(
      "tsrec train_eval: unknown field 'batch_sise' (--edit_config_json) in data_config — did you mean 'batch_size'?",
    );
  });
});

describe('data and runtime errors: exit 1', () => {
  let rows: string[];
  let header: string[];
  beforeAll(() => {
    rows = fs.readFileSync(data.eval, 'utf8').split('\n');
    header = rows[0].split('\t');
  });

  it('a malformed number under the fail policy names file:line:column and the column, after training started', async () => {
    const bad = path.join(tmp, 'bad_number.tsv');
    const cells = rows[41].split('\t');
    const col = header.indexOf('I3');
    cells[col] = '12x';
    fs.writeFileSync(bad, [...rows.slice(0, 41), cells.join('\t'), ...rows.slice(42)].join('\n'));
    const byteColumn = cells.slice(0, col).join('\t').length + 2;
    const r = await runCli([
      'train_eval',
      '--pipeline_config_path',
      goodConfig,
      '--model_dir',
      path.join(tmp, 'bad_number'),
      '--train_input_path',
      bad,
    ]);
    const lines = failed(r, 1);
    expect(lines[0]).toMatch(/^training deepfm: /);
    expect(lines[lines.length - 1]).toBe(
      `tsrec train_eval: ${bad}:42:${byteColumn}: feature "I3": expected a number in column "I3" but found "12x"`,
    );
  });

  it('a row with too few fields names file:line', async () => {
    const ragged = path.join(tmp, 'ragged.tsv');
    fs.writeFileSync(
      ragged,
      [...rows.slice(0, 7), rows[7].split('\t').slice(0, 20).join('\t'), ...rows.slice(8)].join('\n'),
    );
    const lines = failed(
      await runCli([
        'train_eval',
        '--pipeline_config_path',
        goodConfig,
        '--model_dir',
        path.join(tmp, 'ragged'),
        '--train_input_path',
        ragged,
      ]),
      1,
    );
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(`^tsrec train_eval: ${escapeRegExp(ragged)}:8:\\d+: expected 40 fields but found 20$`),
    );
  });

  it('the skip policy drops the malformed row and trains on the rest', async () => {
    const bad = path.join(tmp, 'bad_number.tsv');
    const modelDir = path.join(tmp, 'skipped');
    const r = await runCli([
      'train_eval',
      '--pipeline_config_path',
      goodConfig,
      '--model_dir',
      modelDir,
      '--train_input_path',
      bad,
      '--edit_config_json',
      '{"data_config.malformed_row_policy": "skip"}',
    ]);
    expect(r.code).toBe(0);
    expect(hasStackTrace(r.err)).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.ckpt-3', 'manifest.json'), 'utf8')) as {
      samples: number;
    };
    expect(manifest.samples).toBe(299);
    // The skipped row is reported with its location at the end of the epoch.
    expect(r.err).toMatch(
      new RegExp(`epoch 0: skipped 1 bad row \\(bad_number: 1\\); first: ${escapeRegExp(bad)}:\\d+:\\d+: `),
    );
  });

  it('a missing input file exits 2 (before anything is built) naming it and the flag', async () => {
    const missing = path.join(tmp, 'missing.tsv');
    const lines = failed(
      await runCli([
        'train_eval',
        '--pipeline_config_path',
        goodConfig,
        '--model_dir',
        path.join(tmp, 'missing'),
        '--train_input_path',
        missing,
      ]),
      2,
    );
    expect(lines[lines.length - 1]).toBe(
      `tsrec train_eval: --train_input_path: input path "${missing}" does not exist`,
    );
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
