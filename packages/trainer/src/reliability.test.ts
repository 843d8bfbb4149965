/**
 * The paths that used to lose data, hang or pass garbage (issue 22), each reproduced: model_dir
 * ownership (a lock; a refused run touches nothing), a failed --continue_train keeping the
 * model_dir's config, re-evaluating a checkpoint a kill left unevaluated, checkpoint checksums,
 * predict never overwriting its input, stale temporary outputs, the memory check, and a changed
 * batch_size on resume.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipelineConfig, type EasyRecConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { listCheckpoints, readManifest, verifyCheckpoint } from './checkpoint';
import { ensureExampleData, exampleConfigText } from './default_example';
import { evaluateCheckpoint } from './eval_checkpoint';
import { exportModel } from './export';
import { buildModel } from './model_setup';
import { LOCK_FILE, lockModelDir } from './model_dir_lock';
import { Predictor } from './predictor';
import { openSafetensors, writeSafetensors } from './safetensors';
import { trainAndEvaluate } from './train_eval';

beforeAll(() => setUpTfjs(process.env.TSREC_TEST_BACKEND ?? 'tsrec'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-reliability-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});
const data = ensureExampleData(path.join(tmp, 'cache'), {
  trainRows: 2000,
  evalRows: 500,
  seed: 9,
  cardinalityScale: 0.002,
});
const lines: string[] = [];
const log = {
  write: (s: string) => {
    lines.push(s);
    return true;
  },
  isTTY: false,
} as unknown as NodeJS.WritableStream;

function config(modelDir: string, o: { steps?: number; save?: number; batch?: number } = {}): EasyRecConfig {
  const c = loadPipelineConfig(
    exampleConfigText({
      train: data.train,
      eval: data.eval,
      modelDir,
      cardinalityScale: 0.002,
      epochs: 1,
      batchSize: o.batch ?? 250,
    }),
    { validate: true },
  );
  c.trainConfig!.saveCheckpointsSteps = o.save ?? 4;
  c.trainConfig!.logStepCountSteps = 100;
  if (o.steps) c.trainConfig!.numSteps = o.steps;
  c.dataConfig!.numWorkers = 0;
  c.dataConfig!.shuffleBufferSize = 512;
  return c;
}

/** A live process that is not us (a lock holder that stays alive), and its lock file text. */
function liveOtherProcess(): ChildProcess {
  const c = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(c);
  return c;
}
function writeLock(modelDir: string, holder: Record<string, unknown>): void {
  fs.mkdirSync(modelDir, { recursive: true });
  fs.writeFileSync(path.join(modelDir, LOCK_FILE), `${JSON.stringify(holder)}\n`);
}

describe('model_dir ownership', () => {
  it('a second train_eval on a model_dir in use is refused and touches nothing (not even a half-written checkpoint)', async () => {
    const dir = path.join(tmp, 'busy');
    const holder = liveOtherProcess();
    writeLock(dir, {
      pid: holder.pid,
      host: os.hostname(),
      command: 'train_eval',
      startedAt: '2026-12-07T00:00:00Z',
    });
    // the live run's checkpoint in progress, and its config
    const inProgress = path.join(dir, `.model.ckpt-8.tmp-${holder.pid}`);
    fs.mkdirSync(inProgress);
    fs.writeFileSync(path.join(inProgress, 'dense.safetensors'), 'partial');
    fs.writeFileSync(path.join(dir, 'pipeline.config'), 'theirs');
    for (const continueTrain of [false, true])
      await expect(trainAndEvaluate({ config: config(dir), continueTrain, stream: log })).rejects.toThrow(
        `model_dir '${dir}' is in use by tsrec train_eval (pid ${holder.pid} on ${os.hostname()}, since 2026-12-07T00:00:00Z)`,
      );
    expect(fs.readFileSync(path.join(inProgress, 'dense.safetensors'), 'utf8')).toBe('partial');
    expect(fs.readFileSync(path.join(dir, 'pipeline.config'), 'utf8')).toBe('theirs');
    // eval (writes results there) and export into it respect the lock too
    await expect(evaluateCheckpoint({ config: config(dir), checkpointPath: dir })).rejects.toThrow(/is in use by/);
    expect(() => exportModel({ config: config(dir), exportDir: path.join(dir, 'export') })).toThrow(/is in use by/);
    expect(fs.existsSync(path.join(dir, 'export'))).toBe(false);
  });

  it('two runs started together on one empty model_dir: exactly one trains, the other is refused', async () => {
    const dir = path.join(tmp, 'race');
    const runs = await Promise.allSettled([
      trainAndEvaluate({ config: config(dir, { steps: 4 }), stream: log }),
      trainAndEvaluate({ config: config(dir, { steps: 4 }), stream: log }),
    ]);
    expect(runs.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = runs.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(rejected.reason)).toMatch(/is in use by tsrec train_eval|already holds checkpoints/);
    const results = fs.readFileSync(path.join(dir, 'train_eval_result.txt'), 'utf8').trim().split('\n');
    expect(results).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false); // released
  });

  it('a stale lock (its process is gone) is taken over; a lock from another host is not', async () => {
    const dir = path.join(tmp, 'stale');
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    writeLock(dir, { pid: dead.pid, host: os.hostname(), command: 'train_eval', startedAt: 'then' });
    fs.mkdirSync(path.join(dir, `.model.ckpt-4.tmp-${dead.pid}`));
    const s = await trainAndEvaluate({ config: config(dir, { steps: 2 }), stream: log });
    expect(s.step).toBe(2);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]); // the killed run's leftovers went

    const other = path.join(tmp, 'other-host');
    writeLock(other, { pid: 1, host: 'elsewhere', command: 'train_eval', startedAt: 'then' });
    expect(() => lockModelDir(other, 'eval')).toThrow(
      `model_dir '${other}' is in use by tsrec train_eval (pid 1 on elsewhere, since then); wait for it to finish or choose another --model_dir (if that process is gone, remove ${path.join(other, LOCK_FILE)})`,
    );
  });

  it('a model_dir that is a file is a usage error', async () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(trainAndEvaluate({ config: config(file), stream: log })).rejects.toThrow(
      `Expected a directory for model_dir but '${file}' is a file (or under one)`,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});

describe('resuming', () => {
  const dir = path.join(tmp, 'resume');
  beforeAll(async () => {
    await trainAndEvaluate({ config: config(dir, { steps: 4 }), stream: log });
  }, 120000);

  it('a failed --continue_train leaves model_dir/pipeline.config as it was; each checkpoint keeps its own config', async () => {
    const before = fs.readFileSync(path.join(dir, 'pipeline.config'), 'utf8');
    const other = config(dir, { steps: 8 });
    const id = other.featureConfigs.find((x) => x.feature.case === 'idFeature')!;
    const v = id.feature.value as { hashBucketSize: bigint };
    v.hashBucketSize *= 2n; // a table the checkpoint does not fit
    await expect(trainAndEvaluate({ config: other, continueTrain: true, stream: log })).rejects.toThrow(
      /^Expected .*rows|^Expected .*shape/,
    );
    expect(fs.readFileSync(path.join(dir, 'pipeline.config'), 'utf8')).toBe(before);
    const ckpt = listCheckpoints(dir).pop()!.path;
    expect(fs.readFileSync(path.join(ckpt, 'pipeline.config'), 'utf8')).toBe(before);
  });

  it('a checkpoint saved but never evaluated (killed in between) is evaluated by the resumed run', async () => {
    const results = path.join(dir, 'train_eval_result.txt');
    const kept = fs.readFileSync(results, 'utf8').trim().split('\n');
    expect(JSON.parse(kept[kept.length - 1]).global_step).toBe(4);
    fs.writeFileSync(results, `${kept.slice(0, -1).join('\n')}${kept.length > 1 ? '\n' : ''}`); // the kill's effect
    lines.length = 0;
    await trainAndEvaluate({ config: config(dir, { steps: 4 }), continueTrain: true, stream: log });
    expect(lines.join('')).toMatch(/evaluating model\.ckpt-4, saved but not evaluated by the interrupted run/);
    const after = fs.readFileSync(results, 'utf8').trim().split('\n');
    expect(after.map((l) => JSON.parse(l).global_step)).toEqual(kept.map((l) => JSON.parse(l).global_step));
    expect(after[after.length - 1]).toBe(kept[kept.length - 1]); // same weights, same data: the same line
  });

  it('--continue_train with another batch_size warns that the data position is counted in batches', async () => {
    lines.length = 0;
    await trainAndEvaluate({ config: config(dir, { steps: 6, batch: 100 }), continueTrain: true, stream: log });
    expect(lines.join('')).toMatch(
      /warning: batch_size was 250 when model\.ckpt-4 was saved and is 100 now; the data position \(4 batches consumed\) is counted in batches/,
    );
  });

  it('a changed byte in a checkpoint is an error naming the file and the tensor', () => {
    const ckpt = listCheckpoints(dir).pop()!.path;
    const copy = path.join(tmp, 'corrupt', path.basename(ckpt));
    fs.cpSync(ckpt, copy, { recursive: true });
    expect(() => verifyCheckpoint(copy)).not.toThrow();
    const file = path.join(copy, 'dense.safetensors');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0x10; // in the last tensor's data
    fs.writeFileSync(file, bytes);
    const m = readManifest(copy);
    const last = Object.keys(m.files.find((f) => f.name === 'dense.safetensors')!.crc32c!).pop()!;
    const setup = buildModel(config(dir));
    try {
      expect(() => Predictor.fromCheckpoint(config(dir), copy)).toThrow(
        new RegExp(
          `^Checkpoint file '${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is corrupt: tensor '${last.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' has CRC-32C 0x[0-9a-f]{8} but the manifest recorded 0x[0-9a-f]{8}`,
        ),
      );
    } finally {
      setup.dispose();
    }
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 8)); // truncated
    expect(() => verifyCheckpoint(copy)).toThrow(
      `Checkpoint file '${file}' is corrupt: ${bytes.length - 8} bytes but the manifest recorded ${bytes.length}`,
    );
  });
});

describe('predict', () => {
  const dir = path.join(tmp, 'predict-model');
  let predictor: Predictor;
  beforeAll(async () => {
    await trainAndEvaluate({ config: config(dir, { steps: 2 }), stream: log });
    predictor = Predictor.fromCheckpoint(config(dir));
  }, 120000);
  afterAll(() => predictor?.dispose());

  it('refuses an output path that is its input (by name, symlink or hard link) before reading it', async () => {
    const input = path.join(tmp, 'pred-in.csv');
    fs.copyFileSync(data.eval, input);
    const original = fs.readFileSync(input);
    const link = path.join(tmp, 'pred-link.csv');
    fs.symlinkSync(input, link);
    const hard = path.join(tmp, 'pred-hard.csv');
    fs.linkSync(input, hard);
    for (const out of [input, path.join(tmp, '.', 'pred-in.csv'), link, hard])
      await expect(predictor.predictFile(input, out)).rejects.toThrow(
        /^Expected --predict_output_path to differ from the input, but .* is the input file .*; predicting into it would overwrite the data$/,
      );
    await expect(predictor.predictFile(link, input)).rejects.toThrow(/is the input file/);
    expect(fs.readFileSync(input).equals(original)).toBe(true);
  });

  it('refuses to write non-finite predictions (a checkpoint with NaN weights, checksums intact)', async () => {
    const src = listCheckpoints(dir).pop()!.path;
    const poisoned = path.join(tmp, 'nan-model', path.basename(src));
    fs.cpSync(src, poisoned, { recursive: true });
    const file = path.join(poisoned, 'dense.safetensors');
    const st = openSafetensors(file);
    const tensors = st.names.map((name) => ({
      name,
      dtype: 'F32' as const,
      shape: st.info(name).shape,
      data: st.read(name) as Float32Array,
    }));
    st.close();
    tensors[tensors.length - 1]!.data.fill(NaN); // the output layer's bias
    const sums = writeSafetensors(file, tensors);
    const m = readManifest(poisoned);
    const entry = m.files.find((f) => f.name === 'dense.safetensors')!;
    entry.crc32c = sums;
    entry.bytes = fs.statSync(file).size;
    fs.writeFileSync(path.join(poisoned, 'manifest.json'), JSON.stringify(m));
    const bad = Predictor.fromCheckpoint(config(dir), poisoned);
    const out = path.join(tmp, 'nan-out.csv');
    try {
      await expect(bad.predictFile(data.eval, out)).rejects.toThrow(
        /^Expected finite predictions but output '\w+' of output row 1 is NaN .*; nothing was written to /,
      );
    } finally {
      bad.dispose();
    }
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('nan-out.csv'))).toEqual([]);
  });

  it("removes a killed run's temporary output (its process is gone), keeps a live one's", async () => {
    const out = path.join(tmp, 'pred-out.csv');
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    const live = liveOtherProcess();
    fs.writeFileSync(`${out}.tmp-${dead.pid}`, 'left by a killed predict');
    fs.writeFileSync(`${out}.tmp-${live.pid}`, 'being written');
    const rows = await predictor.predictFile(data.eval, out);
    expect(rows).toBe(500);
    expect(fs.existsSync(`${out}.tmp-${dead.pid}`)).toBe(false);
    expect(fs.existsSync(`${out}.tmp-${live.pid}`)).toBe(true);
  });
});

describe('memory', () => {
  it('tables larger than the memory available are refused before allocating, with the figures and table names', () => {
    const c = config(path.join(tmp, 'big'));
    const f = c.featureConfigs.find((x) => x.feature.case === 'idFeature')!;
    (f.feature.value as { hashBucketSize: bigint }).hashBucketSize = 2_000_000_000n;
    const name = (f.feature.value as { featureName: string }).featureName;
    const before = process.memoryUsage.rss();
    expect(() => buildModel(c, { sparseOptimizer: { type: 'rowwise_adagrad' } })).toThrow(
      new RegExp(
        `^Expected the embedding tables to fit in memory but they need [0-9.]+ GiB with rowwise_adagrad state \\(largest: ${name} [0-9.]+ GiB.*\\) and [0-9.]+ (GiB|MiB) is available`,
      ),
    );
    expect(process.memoryUsage.rss() - before).toBeLessThan(512 * 2 ** 20);
  });
});
