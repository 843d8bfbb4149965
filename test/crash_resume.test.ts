/**
 * Kill and resume (issue 6): `tsrec train_eval` killed with SIGKILL while training, and killed
 * halfway through a checkpoint write (TSREC_FAULT_KILL_IN_CHECKPOINT), then rerun with
 * --continue_train to the end, leaves a final checkpoint whose every tensor (dense weights,
 * tables, dense and sparse optimizer state) equals the uninterrupted run's bit for bit.
 *
 * The runs use one data worker and 2 native threads; neither matters for the result (1 vs 2 threads
 * and 0 vs 1 workers give identical checkpoints; the last test resumes with 1 thread and no worker).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { requireBuiltCli, runCliOk, startCli, type CliResult } from './helpers/cli';
import {
  checkpointSteps,
  differingTensors,
  generateExampleData,
  syntheticConfigText,
  writeConfig,
  type ExampleDataPaths,
} from './helpers/synthetic';

requireBuiltCli();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-e2e-crash-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// 6,000 rows, batch 200: 30 steps an epoch, 2 epochs = 60 steps; a checkpoint (and an eval of
// 500 rows) every 10 steps, progress lines every 2. keep_checkpoint_max 2 also exercises pruning.
const SCALE = 0.002;
const STEPS = 60;
let data: ExampleDataPaths;

function config(name: string): { file: string; modelDir: string } {
  const modelDir = path.join(tmp, name);
  const text = syntheticConfigText({
    train: data.train,
    eval: data.eval,
    modelDir,
    cardinalityScale: SCALE,
    epochs: 2,
    batchSize: 200,
    saveCheckpointsSteps: 10,
    logStepCountSteps: 2,
    keepCheckpointMax: 2,
    numWorkers: 1,
    shuffleBufferSize: 2048,
    hiddenUnits: [64, 32],
  });
  return { file: writeConfig(path.join(tmp, `${name}.config`), text), modelDir };
}

const train = (cfg: { file: string }, ...extra: string[]) => [
  'train_eval',
  '--pipeline_config_path',
  cfg.file,
  ...extra,
];
const finalCheckpoint = (modelDir: string) => path.join(modelDir, `model.ckpt-${STEPS}`);

let reference: string;

beforeAll(async () => {
  data = await generateExampleData(path.join(tmp, 'cache'), {
    trainRows: 6000,
    evalRows: 500,
    seed: 7,
    cardinalityScale: SCALE,
  });
  const cfg = config('uninterrupted');
  const r = await runCliOk(train(cfg));
  expect(r.out).toMatch(new RegExp(`^done: step ${STEPS}, `));
  reference = finalCheckpoint(cfg.modelDir);
  expect(fs.existsSync(path.join(reference, 'manifest.json'))).toBe(true);
  // dense weights and Adam state, one collection of tables (the _wide ones co-located in the deep ones' rows) with row-wise Adagrad state
  expect(
    fs
      .readdirSync(reference)
      .filter((n) => n.endsWith('.safetensors'))
      .sort(),
  ).toEqual(['dense.safetensors', 'dense_optimizer.safetensors', 'sparse_deep.safetensors']);
}, 300000);

/** Resumes with --continue_train to the end and checks the final checkpoint against the reference. */
async function resumeAndCompare(
  cfg: { file: string; modelDir: string },
  layout: { threads?: number; workers?: number } = {},
): Promise<CliResult> {
  const extra =
    layout.workers === undefined
      ? []
      : ['--edit_config_json', JSON.stringify({ 'data_config.num_workers': layout.workers })];
  const r = await runCliOk(train(cfg, '--continue_train', ...extra), {
    env: layout.threads === undefined ? {} : { TSREC_NUM_THREADS: String(layout.threads) },
  });
  expect(r.out).toMatch(new RegExp(`^done: step ${STEPS}, `));
  expect(differingTensors(reference, finalCheckpoint(cfg.modelDir))).toEqual([]);
  // The manifests agree too (step, epoch, batches consumed, samples, update counters), but for the time of the save.
  const manifest = (dir: string) => ({
    ...JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')),
    savedAt: null,
  });
  expect(manifest(finalCheckpoint(cfg.modelDir))).toEqual(manifest(reference));
  // And so does the final evaluation.
  const lastEval = (modelDir: string) =>
    fs.readFileSync(path.join(modelDir, 'train_eval_result.txt'), 'utf8').trim().split('\n').pop();
  expect(lastEval(cfg.modelDir)).toBe(lastEval(path.dirname(reference)));
  expect(fs.readdirSync(cfg.modelDir).filter((n) => n.startsWith('.'))).toEqual([]);
  return r;
}

describe('SIGKILL, then --continue_train', () => {
  it('killed while training (after a checkpoint exists): resumes to the same final weights, bit for bit', async () => {
    const cfg = config('killed_training');
    let killedAt = -1;
    const { done } = startCli(train(cfg), {
      onStderr: (chunk, child) => {
        if (killedAt >= 0) return;
        // Progress lines read `step <n>  loss …`; kill at a step past the first checkpoint, mid-interval.
        for (const m of chunk.matchAll(/^step (\d+)\b/gm)) {
          const step = Number(m[1]);
          if (step >= 14 && step % 10 !== 0 && checkpointSteps(cfg.modelDir).length > 0) {
            killedAt = step;
            child.kill('SIGKILL');
            return;
          }
        }
      },
    });
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(STEPS);
    const saved = checkpointSteps(cfg.modelDir);
    expect(saved.length).toBeGreaterThan(0);
    expect(saved[saved.length - 1]).toBeLessThan(STEPS);

    const r = await resumeAndCompare(cfg);
    expect(r.err).toContain(
      `continue_train: restored model.ckpt-${saved[saved.length - 1]} (step ${saved[saved.length - 1]},`,
    );
  });

  it('killed halfway through writing a checkpoint: the partial write is ignored and removed, and the resumed run ends bit for bit equal', async () => {
    const cfg = config('killed_in_checkpoint');
    const killed = await startCli(train(cfg), { env: { TSREC_FAULT_KILL_IN_CHECKPOINT: '40' } }).done;
    expect(killed.signal).toBe('SIGKILL');
    // Checkpoints 20 and 30 complete (keep_checkpoint_max 2), 40 only as a temporary directory with the dense files.
    expect(checkpointSteps(cfg.modelDir)).toEqual([20, 30]);
    const partial = fs.readdirSync(cfg.modelDir).filter((n) => n.startsWith('.model.ckpt-40.tmp'));
    expect(partial).toHaveLength(1);
    expect(fs.readdirSync(path.join(cfg.modelDir, partial[0]))).toContain('dense.safetensors');
    expect(fs.existsSync(path.join(cfg.modelDir, partial[0], 'manifest.json'))).toBe(false);

    const r = await resumeAndCompare(cfg);
    expect(r.err).toContain(`removed incomplete checkpoint writes: ${partial[0]}`);
    expect(r.err).toContain('continue_train: restored model.ckpt-30 (step 30,');
  });

  it('killed twice (in two checkpoint writes, the second after a resume), then resumed with 1 native thread and no data worker: still bit for bit equal', async () => {
    const cfg = config('killed_twice');
    const first = await startCli(train(cfg), { env: { TSREC_FAULT_KILL_IN_CHECKPOINT: '20' } }).done;
    expect(first.signal).toBe('SIGKILL');
    expect(checkpointSteps(cfg.modelDir)).toEqual([10]);
    // Resume, and die again in the second epoch (step 50's checkpoint write).
    const second = await startCli(train(cfg, '--continue_train'), { env: { TSREC_FAULT_KILL_IN_CHECKPOINT: '50' } })
      .done;
    expect(second.signal).toBe('SIGKILL');
    expect(checkpointSteps(cfg.modelDir)).toEqual([30, 40]);
    // The process layout is not part of the result: the TBE and the dense kernels are thread-count invariant.
    await resumeAndCompare(cfg, { threads: 1, workers: 0 });
  });
});
