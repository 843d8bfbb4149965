import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildInfo } from '@tsrec/native';
import { main, parseArgs, usage } from './cli';
import { ensureExampleData, exampleConfigText } from './default_example';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function capture(): { stream: NodeJS.WritableStream & { isTTY: boolean }; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: { write: (s: string) => chunks.push(String(s)) > 0, isTTY: false } as unknown as NodeJS.WritableStream & {
      isTTY: boolean;
    },
    text: () => chunks.join(''),
  };
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = capture();
  const err = capture();
  const code = await main(argv, { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe('parseArgs', () => {
  it('reads --flag value, --flag=value and boolean switches', () => {
    expect(
      parseArgs(['train_eval', '--pipeline_config_path', 'a.config', '--model_dir=/m', '--continue_train']),
    ).toEqual({
      command: 'train_eval',
      flags: { pipeline_config_path: 'a.config', model_dir: '/m', continue_train: true },
      help: false,
    });
    expect(
      parseArgs(['train_eval', '--pipeline_config_path', 'a', '--continue_train', 'false']).flags.continue_train,
    ).toBe(false);
  });
});

describe('tsrec CLI exit codes and messages', () => {
  it('--help lists the commands; <command> --help the flags', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('train_eval');
    expect(r.out).toContain('Exit status: 0 success, 2 usage or config error, 1 runtime failure.');
    const t = await run('train_eval', '--help');
    expect(t.code).toBe(0);
    for (const f of [
      '--pipeline_config_path',
      '--model_dir',
      '--train_input_path',
      '--eval_input_path',
      '--continue_train',
      '--fine_tune_checkpoint',
      '--edit_config_json',
    ])
      expect(t.out).toContain(f);
    expect(usage('predict')).toContain('--reserved_columns');
  });

  it('info reports the build the addon loaded: BLAS, CUDA, threads, tfjs backend', async () => {
    const b = buildInfo();
    const r = await run('info');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual([
      'tsrec',
      'addon',
      'build',
      'BLAS',
      'CUDA',
      'threads',
      'MPI',
      'tfjs',
    ]);
    expect(lines[1]).toBe(`addon:   ${b.addonPath}`);
    expect(b.addonPath).toMatch(/tsrec_native\.node$/);
    expect(lines[2]).toBe(`build:   ${b.buildType}, ${b.archFlags || 'default target'}, ${b.compiler}`);
    expect(lines[3].startsWith(`BLAS:    ${b.blas}`)).toBe(true);
    expect(lines[4]).toMatch(b.cudaCompiled ? /^CUDA: +compiled \(sm [\d,]+\), \d+ devices?/ : /^CUDA: +not compiled/);
    expect(lines[5]).toMatch(new RegExp(`^threads: ${b.threads} native pool threads`));
    expect(lines[6]).toMatch(
      b.mpiCompiled ? /^MPI: +compiled \(Open MPI\); not launched by mpirun$/ : /^MPI: +not compiled/,
    );
    expect(lines[7]).toMatch(/^tfjs: +backend tsrec /);
  });

  it('usage errors exit 2 with one line that says what to fix', async () => {
    expect(await run('trian_eval')).toEqual({
      code: 2,
      out: '',
      err: "tsrec: Expected a command (train_eval, eval, export, predict, plan, info) but received 'trian_eval'; see tsrec --help\n",
    });
    expect((await run('train_eval', '--model_dir', 'x')).err).toBe(
      'tsrec: Expected --pipeline_config_path for tsrec train_eval (the pipeline config (protobuf text or .json))\n',
    );
    expect((await run('train_eval', '--pipeline_config', 'x')).err).toBe(
      'tsrec: Unknown flag --pipeline_config for tsrec train_eval (did you mean --pipeline_config_path?); see tsrec train_eval --help\n',
    );
    expect((await run('train_eval', '--pipeline_config_path')).err).toBe(
      'tsrec: Expected a value after --pipeline_config_path\n',
    );
    const missing = await run('train_eval', '--pipeline_config_path', path.join(tmp, 'nope.config'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('Expected an existing file for --pipeline_config_path');
  });

  it('tsrec plan prints a plan; bad plan flags and TSREC_COLLECTIVE_TIMEOUT_S exit 2 saying what to fix', async () => {
    const cfg = path.join(tmp, 'plan.config');
    fs.writeFileSync(
      cfg,
      exampleConfigText({
        train: 'train.tsv',
        eval: 'eval.tsv',
        modelDir: path.join(tmp, 'plan_md'),
        cardinalityScale: 0.001,
        epochs: 1,
        batchSize: 128,
      }),
    );
    const ok = await run('plan', '--pipeline_config_path', cfg, '--world_size', '4', '--dry_run');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^plan: deepfm at world size 4, batch_size 128 per rank \(512 rows per step\)/);
    expect(ok.out).toMatch(/predicted communication per step: [\d.]+ ms at 12\.5 GB\/s/);
    expect(await run('plan', '--pipeline_config_path', cfg, '--world_size', '0')).toEqual({
      code: 2,
      out: '',
      err: "tsrec plan: Expected an integer >= 1 for --world_size but received '0'\n",
    });
    expect((await run('plan', '--pipeline_config_path', cfg, '--world_size', '2', '--bag_size', 'x')).err).toBe(
      "tsrec plan: Expected a number >= 0 for --bag_size but received 'x'\n",
    );
    process.env.TSREC_COLLECTIVE_TIMEOUT_S = 'soon';
    try {
      expect(await run('train_eval', '--pipeline_config_path', cfg)).toEqual({
        code: 2,
        out: '',
        err: "tsrec train_eval: Expected a number of seconds >= 0 for TSREC_COLLECTIVE_TIMEOUT_S but received 'soon'\n",
      });
    } finally {
      delete process.env.TSREC_COLLECTIVE_TIMEOUT_S;
    }
  });

  it('a config error exits 2 naming file:line:col and the field', async () => {
    const p = path.join(tmp, 'bad.config');
    fs.writeFileSync(p, 'train_config {\n  num_step: 10\n}\n');
    const r = await run('train_eval', '--pipeline_config_path', p);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `tsrec train_eval: unknown field 'num_step' in train_config at ${p}:2:3 — did you mean 'num_steps'?\n`,
    );
    const good = path.join(tmp, 'good.config');
    fs.writeFileSync(good, 'train_config {\n  num_steps: 10\n}\n');
    const edit = await run(
      'train_eval',
      '--pipeline_config_path',
      good,
      '--edit_config_json',
      '{"data_config.batch_size": ',
    );
    expect(edit.code).toBe(2);
    expect(edit.err).toContain('invalid JSON in --edit_config_json');
  });

  it('a missing input file is a usage error (exit 2) naming the config field and its place, or the flag', async () => {
    const data = ensureExampleData(path.join(tmp, 'cache'), {
      trainRows: 600,
      evalRows: 300,
      seed: 2,
      cardinalityScale: 0.001,
    });
    const p = path.join(tmp, 'ok.config');
    fs.writeFileSync(
      p,
      exampleConfigText({
        train: path.join(tmp, 'missing.tsv'),
        eval: data.eval,
        modelDir: path.join(tmp, 'm1'),
        cardinalityScale: 0.001,
        epochs: 1,
        batchSize: 128,
      }),
    );
    const r = await run('train_eval', '--pipeline_config_path', p);
    // caught before any model is built: the config field and where it is set
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(
        `^tsrec train_eval: train_input_path: input path ".*missing\\.tsv" does not exist \\(${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+\\)\n$`,
      ),
    );
    const flag = await run('train_eval', '--pipeline_config_path', p, '--train_input_path', path.join(tmp, 'nope.tsv'));
    expect(flag.code).toBe(2);
    expect(flag.err).toBe(
      `tsrec train_eval: --train_input_path: input path "${path.join(tmp, 'nope.tsv')}" does not exist\n`,
    );
  }, 30000);

  it('train_eval, eval, export and predict run end to end', async () => {
    const data = ensureExampleData(path.join(tmp, 'cache'), {
      trainRows: 600,
      evalRows: 300,
      seed: 2,
      cardinalityScale: 0.001,
    });
    const p = path.join(tmp, 'small.config');
    const modelDir = path.join(tmp, 'm2');
    fs.writeFileSync(
      p,
      exampleConfigText({
        train: data.train,
        eval: data.eval,
        modelDir,
        cardinalityScale: 0.001,
        epochs: 1,
        batchSize: 128,
      }),
    );
    const t = await run(
      'train_eval',
      '--pipeline_config_path',
      p,
      '--edit_config_json',
      '{"data_config.num_workers": 0}',
    );
    if (t.code !== 0) throw new Error(t.err);
    expect(t.out).toMatch(/^done: step 5, .* samples\/s, eval auc /);
    const again = await run('train_eval', '--pipeline_config_path', p);
    expect(again.code).toBe(2);
    expect(again.err).toContain('pass --continue_train');
    const e = await run('eval', '--pipeline_config_path', p);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/^eval of .*model\.ckpt-5 \(step 5\): auc 0\.\d+/);
    const noCkpt = await run('eval', '--pipeline_config_path', p, '--checkpoint_path', path.join(tmp, 'nowhere'));
    expect(noCkpt).toMatchObject({
      code: 2,
      err: `tsrec eval: Expected an existing checkpoint directory or model_dir but received '${path.join(tmp, 'nowhere')}' (no such path)\n`,
    });
    const exportDir = path.join(tmp, 'export');
    expect((await run('export', '--pipeline_config_path', p, '--export_dir', exportDir)).code).toBe(0);
    expect((await run('export', '--pipeline_config_path', p, '--export_dir', exportDir)).err).toContain(
      'exists and is not empty',
    );
    const out = path.join(tmp, 'pred.csv');
    const pr = await run(
      'predict',
      '--scripted_model_path',
      exportDir,
      '--predict_input_path',
      data.eval,
      '--predict_output_path',
      out,
      '--reserved_columns',
      'label',
    );
    expect(pr).toMatchObject({ code: 0, out: `predicted 300 rows into ${out}\n` });
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toBe('label,logits,probs');
    const pq = path.join(tmp, 'pred.parquet');
    expect(
      (
        await run(
          'predict',
          '--export_dir',
          exportDir,
          '--predict_input_path',
          data.eval,
          '--predict_output_path',
          pq,
          '--output_columns',
          'probs',
        )
      ).code,
    ).toBe(0);
    expect(fs.statSync(pq).size).toBeGreaterThan(300 * 4);
  }, 120000);
});
