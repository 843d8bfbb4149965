/**
 * Chaos (issue 22): the real `tsrec train_eval` under what production does to it —
 * - SIGKILLs at random points (mid-step, mid-checkpoint write, mid-evaluation; the seed is
 *   printed and TSREC_CHAOS_SEED replays it), each followed by --continue_train, ending bit for
 *   bit at the uninterrupted run's final checkpoint and evaluation lines;
 * - two runs started together on one model_dir: one trains, the other exits 2 naming the owner;
 * - a full disk (a small tmpfs, when the test runs as root and may mount; else skipped with the
 *   reason): the run stops with the checkpoint and the cause named, leaves no partial checkpoint,
 *   and resumes once there is room.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { requireBuiltCli, runCli, runCliOk, startCli } from './helpers/cli';
import {
  checkpointSteps,
  differingTensors,
  generateExampleData,
  syntheticConfigText,
  writeConfig,
  type ExampleDataPaths,
} from './helpers/synthetic';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-chaos-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SEED = Number(process.env.TSREC_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
let state = SEED >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};

// 3,000 rows, batch 100: 30 steps an epoch, 2 epochs; a checkpoint and an eval every 8 steps.
const SCALE = 0.002;
const STEPS = 60;
let data: ExampleDataPaths;

function config(name: string, modelDir = path.join(tmp, name)): { file: string; modelDir: string } {
  const text = syntheticConfigText({
    train: data.train,
    eval: data.eval,
    modelDir,
    cardinalityScale: SCALE,
    epochs: 2,
    batchSize: 100,
    saveCheckpointsSteps: 8,
    logStepCountSteps: 1,
    keepCheckpointMax: 2,
    numWorkers: 1,
    shuffleBufferSize: 1024,
    hiddenUnits: [32, 16],
  });
  return { file: writeConfig(path.join(tmp, `${name}.config`), text), modelDir };
}
const train = (cfg: { file: string }, ...extra: string[]) => [
  'train_eval',
  '--pipeline_config_path',
  cfg.file,
  ...extra,
];
const results = (modelDir: string) =>
  fs
    .readFileSync(path.join(modelDir, 'train_eval_result.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { global_step: number });

let reference: { file: string; modelDir: string };

beforeAll(async () => {
  data = await generateExampleData(path.join(tmp, 'cache'), {
    trainRows: 3000,
    evalRows: 400,
    seed: 11,
    cardinalityScale: SCALE,
  });
  reference = config('reference');
  const r = await runCliOk(train(reference));
  expect(r.out).toMatch(new RegExp(`^done: step ${STEPS}, `));
}, 300000);

test(`SIGKILL at random points, resumed each time, ends bit for bit at the uninterrupted run (TSREC_CHAOS_SEED=${SEED})`, async () => {
  const cfg = config('chaos');
  const kills: string[] = [];
  for (let round = 0; round < 3; round++) {
    const resume = checkpointSteps(cfg.modelDir).length > 0 ? ['--continue_train'] : [];
    const inCheckpoint = rand() < 0.4;
    // a step still ahead of this round: kill there, either when its progress line appears or inside its checkpoint write
    const done = checkpointSteps(cfg.modelDir).pop() ?? 0;
    const target = Math.min(STEPS - 1, done + 2 + Math.floor(rand() * 14));
    const ckptTarget = Math.ceil(target / 8) * 8;
    const env = inCheckpoint && ckptTarget < STEPS ? { TSREC_FAULT_KILL_IN_CHECKPOINT: String(ckptTarget) } : {};
    let killed = false;
    const run = startCli(train(cfg, ...resume), {
      env,
      onStderr: (chunk, child) => {
        if (killed || env.TSREC_FAULT_KILL_IN_CHECKPOINT) return;
        for (const m of chunk.matchAll(/^step (\d+)\b/gm))
          if (Number(m[1]) >= target) {
            killed = true;
            // a moment later: mid-step, mid-save or mid-eval, as it falls
            setTimeout(() => child.kill('SIGKILL'), Math.floor(rand() * 300));
            return;
          }
      },
    });
    const r = await run.done;
    kills.push(
      `${env.TSREC_FAULT_KILL_IN_CHECKPOINT ? `in checkpoint ${ckptTarget}` : `after step ${target}`}: ${r.signal ?? r.code}`,
    );
    if (r.code === 0) break; // finished before the kill landed
    expect(r.signal).toBe('SIGKILL');
  }
  const last = await runCliOk(train(cfg, '--continue_train'));
  expect(last.out).toMatch(new RegExp(`^done: step ${STEPS}, `));
  const final = (d: string) => path.join(d, `model.ckpt-${STEPS}`);
  expect({ kills, differing: differingTensors(final(reference.modelDir), final(cfg.modelDir)) }).toEqual({
    kills,
    differing: [],
  });
  // Every checkpoint was evaluated once, even those a kill left unevaluated, with the same results.
  const want = results(reference.modelDir);
  const got = results(cfg.modelDir);
  expect(got.map((r) => r.global_step)).toEqual(want.map((r) => r.global_step));
  expect(got).toEqual(want);
  expect(fs.readdirSync(cfg.modelDir).filter((n) => n.startsWith('.'))).toEqual([]);
}, 600000);

test('two runs started together on one model_dir: one trains, the other exits 2 naming the owner', async () => {
  const cfg = config('two');
  const [a, b] = await Promise.all([runCli(train(cfg)), runCli(train(cfg))]);
  const codes = [a.code, b.code].sort();
  expect(codes).toEqual([0, 2]);
  const refused = a.code === 2 ? a : b;
  expect(refused.err).toMatch(
    new RegExp(`^tsrec train_eval: model_dir '${cfg.modelDir}' is in use by tsrec train_eval \\(pid \\d+ on `),
  );
  expect(results(cfg.modelDir)).toEqual(results(reference.modelDir)); // one run's lines, not two interleaved
}, 300000);

/** Whether this process may mount a tmpfs (root, and a kernel/container that allows it). */
function canMountTmpfs(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = fs.mkdtempSync(path.join(tmp, 'probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return null;
  } catch {
    return 'mount -t tmpfs is not permitted here';
  }
}
const noTmpfs = canMountTmpfs();
if (noTmpfs) console.log(`chaos.test.ts: skipping the full-disk test: ${noTmpfs}`);

(noTmpfs ? test.skip : test)(
  'a full disk stops the run naming the checkpoint and the cause, and it resumes once there is room',
  async () => {
    const mnt = fs.mkdtempSync(path.join(tmp, 'disk-'));
    const modelDir = path.join(mnt, 'model');
    const cfg = config('full', modelDir);
    // Room for about one and a half checkpoints (keep_checkpoint_max 2 keeps two).
    const ckptBytes = fs
      .readdirSync(path.join(reference.modelDir, `model.ckpt-${STEPS}`))
      .reduce((s, n) => s + fs.statSync(path.join(reference.modelDir, `model.ckpt-${STEPS}`, n)).size, 0);
    // No TensorBoard events: the checkpoint write is then what meets the full disk (a full disk
    // during an event or result write is reported the same way: "Could not write … '<path>'").
    const noEvents = ['--edit_config_json', JSON.stringify({ 'train_config.use_tensorboard': false })];
    const size = Math.ceil((1.5 * ckptBytes + 32 * 1024) / 4096) * 4096;
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
    try {
      const r = await runCli(train(cfg, ...noEvents));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        new RegExp(
          `tsrec train_eval: Could not write checkpoint model\\.ckpt-(\\d+) in '${modelDir}': ENOSPC: no space left on device.* \\(the disk is full; free space or choose another --model_dir, then resume with --continue_train\\)`,
        ),
      );
      expect(fs.readdirSync(modelDir).filter((n) => n.includes('.tmp-'))).toEqual([]); // the partial write is gone
      expect(checkpointSteps(modelDir).length).toBeGreaterThan(0);
      execFileSync('mount', ['-o', `remount,size=${8 * size}`, mnt]);
      const resumed = await runCliOk(train(cfg, '--continue_train', ...noEvents));
      expect(resumed.out).toMatch(new RegExp(`^done: step ${STEPS}, `));
      expect(
        differingTensors(
          path.join(reference.modelDir, `model.ckpt-${STEPS}`),
          path.join(modelDir, `model.ckpt-${STEPS}`),
        ),
      ).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  },
  300000,
);
