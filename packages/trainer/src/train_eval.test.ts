import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadPipelineConfig, type EasyRecConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { listCheckpoints, readManifest } from './checkpoint';
import { ensureExampleData, exampleConfigText } from './default_example';
import { exportModel } from './export';
import { Predictor } from './predictor';
import { openSafetensors } from './safetensors';
import { readEventFile } from './tensorboard';
import { trainAndEvaluate } from './train_eval';

const BACKEND = process.env.TSREC_TEST_BACKEND ?? 'tsrec';
beforeAll(() => setUpTfjs(BACKEND));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const data = ensureExampleData(path.join(tmp, 'cache'), {
  trainRows: 12000,
  evalRows: 3000,
  seed: 5,
  cardinalityScale: 0.002,
});
const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream;

/** The example's DeepFM at test scale: batch 256, saves every `save` steps. */
function config(
  modelDir: string,
  o: { save?: number; steps?: number; keep?: number; epochs?: number } = {},
): EasyRecConfig {
  const c = loadPipelineConfig(
    exampleConfigText({
      train: data.train,
      eval: data.eval,
      modelDir,
      cardinalityScale: 0.002,
      epochs: o.epochs ?? 1,
      batchSize: 256,
    }),
    { validate: true },
  );
  const tc = c.trainConfig!;
  tc.saveCheckpointsSteps = o.save ?? 20;
  tc.logStepCountSteps = 5;
  tc.keepCheckpointMax = o.keep ?? 0;
  if (o.steps) tc.numSteps = o.steps;
  c.dataConfig!.numWorkers = 0;
  c.dataConfig!.shuffleBufferSize = 2048;
  return c;
}

function tensorsOf(ckpt: string): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const f of fs.readdirSync(ckpt).filter((n) => n.endsWith('.safetensors'))) {
    const st = openSafetensors(path.join(ckpt, f));
    for (const n of st.names) out[`${f}:${n}`] = st.read(n) as Float32Array;
    st.close();
  }
  return out;
}

describe('trainAndEvaluate', () => {
  const dir = path.join(tmp, 'run');
  let summary: Awaited<ReturnType<typeof trainAndEvaluate>>;
  beforeAll(async () => {
    summary = await trainAndEvaluate({ config: config(dir, { keep: 2 }), stream: quiet });
  }, 120000);

  it('trains one epoch to a useful AUC and ends with a checkpoint and an eval', () => {
    // 12000 rows / 256 = 47 batches (the last one short)
    expect(summary.step).toBe(47);
    expect(summary.samples).toBe(12000);
    expect(summary.lastEval!.step).toBe(47);
    expect(summary.lastEval!.metrics.auc).toBeGreaterThan(0.62);
    expect(summary.lastEval!.metrics.auc).toBeLessThan(data.plantedAuc + 0.02);
    expect(summary.lastEval!.metrics.binary_cross_entropy).toBeLessThan(0.6);
    expect(tf.memory().numTensors).toBeLessThan(50);
  });

  it('keeps keep_checkpoint_max checkpoints, each complete with a manifest', () => {
    const ckpts = listCheckpoints(dir);
    expect(ckpts.map((c) => c.step)).toEqual([40, 47]);
    const m = readManifest(ckpts[1].path);
    expect(m).toMatchObject({ step: 47, epoch: 1, consumedBatches: 47, samples: 12000 });
    // DeepFM's <table>_wide tables share their deep tables' rows: one collection holds both (saved as whole logical tables).
    expect(m.collections.map((c) => [c.key, c.optimizer])).toEqual([['deep', 'rowwise_adagrad']]);
    const names = m.collections[0].tables.map((t) => t.name);
    expect(names.filter((n) => n.endsWith('_wide')).length).toBe(names.length / 2);
    expect(m.collections[0].tables.find((t) => t.name.endsWith('_wide'))).toMatchObject({ dim: 4, states: ['sum'] });
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'pipeline.config'))).toBe(true);
  });

  it('appends one JSON line per evaluation to train_eval_result.txt', () => {
    const lines = fs
      .readFileSync(path.join(dir, 'train_eval_result.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.map((l) => l.global_step)).toEqual([20, 40, 47]);
    for (const l of lines) expect(Object.keys(l).sort()).toEqual(['auc', 'binary_cross_entropy', 'global_step']);
    expect(lines[2].auc).toBe(summary.lastEval!.metrics.auc);
  });

  it('writes TensorBoard events that read back: train loss and lr every 5 steps, eval metrics per checkpoint', () => {
    const file = (sub: string) =>
      path.join(dir, sub, fs.readdirSync(path.join(dir, sub)).find((n) => n.startsWith('events.out.tfevents.'))!);
    const train = readEventFile(file('train'));
    const loss = train.filter((e) => e.tag === 'loss');
    expect(loss.map((e) => e.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45]);
    expect(loss.every((e) => e.value > 0 && e.value < 3)).toBe(true);
    expect(loss[loss.length - 1].value).toBeLessThan(0.7);
    const lr = train.filter((e) => e.tag === 'lr/dense');
    // exponential decay with warmup: 0.0002 → 0.002 over 20 steps; step 5 ran at the rate after 4 steps
    expect(lr[0].value).toBeCloseTo(0.0002 + (0.002 - 0.0002) * (4 / 20), 6);
    const ev = readEventFile(file('eval_val')).filter((e) => e.tag === 'auc');
    expect(ev.map((e) => e.step)).toEqual([20, 40, 47]);
    expect(ev[2].value).toBeCloseTo(summary.lastEval!.metrics.auc, 6);
  });

  it('refuses a model_dir that holds checkpoints unless continue_train', async () => {
    await expect(trainAndEvaluate({ config: config(dir), stream: quiet })).rejects.toThrow(
      `model_dir '${dir}' already holds checkpoints (newest: model.ckpt-47); pass --continue_train to resume it, or choose another --model_dir`,
    );
  });

  it("exports a directory whose predictions equal the checkpoint's", async () => {
    const exportDir = path.join(tmp, 'export');
    const c = config(dir);
    const info = exportModel({ config: c, exportDir });
    expect(info.step).toBe(47);
    const fromExport = Predictor.fromExport(exportDir);
    const fromCkpt = Predictor.fromCheckpoint(c);
    const outA = path.join(tmp, 'pred_export.csv');
    const outB = path.join(tmp, 'pred_ckpt.csv');
    expect(await fromExport.predictFile(data.eval, outA, { reservedColumns: ['label', 'C1'] })).toBe(3000);
    await fromCkpt.predictFile(data.eval, outB, { reservedColumns: ['label', 'C1'] });
    fromExport.dispose();
    fromCkpt.dispose();
    const a = fs.readFileSync(outA, 'utf8').trim().split('\n');
    const b = fs.readFileSync(outB, 'utf8').trim().split('\n');
    expect(a[0]).toBe('label,C1,logits,probs');
    expect(a.length).toBe(3001);
    expect(a).toEqual(b);
    const p = Number(a[1].split(',')[3]);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1);
  }, 60000);
});

describe('continue_train', () => {
  it('resumes the newest complete checkpoint bit for bit (weights, both optimizers, data position)', async () => {
    const full = path.join(tmp, 'full');
    const cut = path.join(tmp, 'cut');
    // 2 epochs of 47 batches; a crash after step 55 (checkpoints every 20: the newest complete one is 40, mid epoch 2).
    const a = await trainAndEvaluate({ config: config(full, { epochs: 2 }), stream: quiet, evaluate: false });
    expect(a.step).toBe(94);
    await trainAndEvaluate({ config: config(cut, { epochs: 2 }), stream: quiet, evaluate: false, maxStepsThisRun: 55 });
    // What a kill at step 55 leaves: checkpoints up to 40, and a half-written one.
    fs.rmSync(path.join(cut, 'model.ckpt-55'), { recursive: true });
    fs.mkdirSync(path.join(cut, '.model.ckpt-60.tmp-999'));
    fs.writeFileSync(path.join(cut, '.model.ckpt-60.tmp-999', 'dense.safetensors'), 'partial');
    const lines: string[] = [];
    const b = await trainAndEvaluate({
      config: config(cut, { epochs: 2 }),
      stream: { write: (s: string) => lines.push(s) > 0, isTTY: false } as unknown as NodeJS.WritableStream,
      evaluate: false,
      continueTrain: true,
    });
    expect(lines.join('')).toContain('continue_train: restored model.ckpt-40 (step 40, epoch 0, 40 batches consumed)');
    expect(lines.join('')).toContain('removed incomplete checkpoint writes: .model.ckpt-60.tmp-999');
    expect(b.step).toBe(94);
    const ta = tensorsOf(path.join(full, 'model.ckpt-94'));
    const tb = tensorsOf(path.join(cut, 'model.ckpt-94'));
    expect(Object.keys(tb).sort()).toEqual(Object.keys(ta).sort());
    for (const k of Object.keys(ta)) {
      const same = Buffer.from(ta[k].buffer, ta[k].byteOffset, ta[k].byteLength).equals(
        Buffer.from(tb[k].buffer, tb[k].byteOffset, tb[k].byteLength),
      );
      if (!same) throw new Error(`tensor ${k} differs after resume`);
    }
    expect(readManifest(path.join(cut, 'model.ckpt-94'))).toMatchObject({ epoch: 2, consumedBatches: 94 });
  }, 180000);
});
