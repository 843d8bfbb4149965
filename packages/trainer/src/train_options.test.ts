import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ExportConfigSchema, loadPipelineConfig, type EasyRecConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { listCheckpoints, readManifest } from './checkpoint';
import { ensureExampleData, exampleConfigText } from './default_example';
import { exportModel } from './export';
import { openSafetensors } from './safetensors';
import type { ModelSetup } from './model_setup';
import { trainAndEvaluate } from './train_eval';

const BACKEND = process.env.TSREC_TEST_BACKEND ?? 'tsrec';
beforeAll(() => setUpTfjs(BACKEND));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-trainopt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const data = ensureExampleData(path.join(tmp, 'cache'), {
  trainRows: 4000,
  evalRows: 1000,
  seed: 9,
  cardinalityScale: 0.002,
});
const lines: string[] = [];
const stream = { write: (s: string) => lines.push(s) > 0, isTTY: false } as unknown as NodeJS.WritableStream;

function config(
  modelDir: string,
  edit: (c: EasyRecConfig) => void = () => undefined,
  text: (t: string) => string = (t) => t,
): EasyRecConfig {
  const c = loadPipelineConfig(
    text(
      exampleConfigText({
        train: data.train,
        eval: data.eval,
        modelDir,
        cardinalityScale: 0.002,
        epochs: 1,
        batchSize: 200,
      }),
    ),
    { validate: true },
  );
  c.trainConfig!.saveCheckpointsSteps = 5;
  c.trainConfig!.keepCheckpointMax = 0;
  c.dataConfig!.numWorkers = 0;
  c.dataConfig!.shuffleBufferSize = 1000;
  edit(c);
  return c;
}

const dense = (ckpt: string, name: string) => {
  const f = openSafetensors(path.join(ckpt, 'dense.safetensors'));
  const v = f.read(name) as Float32Array;
  f.close();
  return v;
};

describe('train_config and export_config options', () => {
  beforeEach(() => {
    lines.length = 0;
  });

  it('early stopping: stop_if_higher_than ends training at the first evaluation over the threshold and records the best', async () => {
    const dir = path.join(tmp, 'early');
    const c = config(
      dir,
      (x) => {
        x.exportConfig!.enableEarlyStop = true;
        x.exportConfig!.earlyStopFunc = 'stop_if_higher_than';
        x.exportConfig!.earlyStopParams = '{"threshold": 0.0}';
      },
      (t) => t.replace('eval_config {}', 'eval_config {}\nexport_config {}'),
    );
    const s = await trainAndEvaluate({ config: c, stream });
    expect(s.stoppedEarly).toBe(true);
    expect(s.step).toBe(5);
    expect(lines.join('')).toMatch(/early stop: auc 0\.\d+ > 0 at step 5/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'best_checkpoint.json'), 'utf8'))).toMatchObject({
      step: 5,
      metric: 'auc',
    });
  }, 60000);

  it('early stopping: stop_if_no_increase stops after max_check_steps without a better metric; keep_checkpoint_max keeps the best', async () => {
    const dir = path.join(tmp, 'noinc');
    const c = config(
      dir,
      (x) => {
        x.exportConfig!.enableEarlyStop = true;
        x.exportConfig!.maxCheckSteps = 5;
        // A metric that never improves after the first evaluation: the eval loss with "larger is better" … inverted.
        x.exportConfig!.bestExporterMetric = 'binary_cross_entropy';
        x.exportConfig!.metricLargerIsBetter = true;
        x.trainConfig!.keepCheckpointMax = 1;
      },
      (t) => t.replace('eval_config {}', 'eval_config {}\nexport_config {}').replace(/\blr: [0-9.e-]+/g, 'lr: 1e-30'),
    );
    const s = await trainAndEvaluate({ config: c, stream });
    // Learning rates of 1e-30 leave the weights as they are: every evaluation gives the same metric, none after step 5 is an increase.
    expect(s.best!.step).toBe(5);
    expect(s.stoppedEarly).toBe(true);
    expect(s.step).toBe(10);
    expect(lines.join('')).toContain('early stop: no increase of binary_cross_entropy for 5 steps (best');
    // keep 1, but the best (5) is protected
    expect(listCheckpoints(dir).map((x) => x.step)).toEqual([5, 10]);
  }, 60000);

  it('gradient_accumulation_steps as TorchEasyRec: steps count batches, the dense optimizer steps every k-th', async () => {
    const dir = path.join(tmp, 'accum');
    const s = await trainAndEvaluate({
      config: config(dir, (x) => (x.trainConfig!.gradientAccumulationSteps = 2)),
      stream,
      evaluate: false,
    });
    // 4000 rows / 200 = 20 batches = 20 steps (num_steps, checkpoints and schedules count
    // batches), 10 dense optimizer steps.
    expect(s.step).toBe(20);
    expect(s.samples).toBe(4000);
    const last = listCheckpoints(dir).pop()!.path;
    expect(readManifest(last)).toMatchObject({ step: 20, consumedBatches: 20 });
    const opt = openSafetensors(path.join(last, 'dense_optimizer.safetensors'));
    expect(Array.from(opt.read('step') as Float32Array)).toEqual([10]);
    opt.close();
  }, 60000);

  it("save_checkpoints_epochs replaces the step cadence; save_checkpoints_steps 0 saves only at the end (TorchEasyRec's rule)", async () => {
    const epochs = path.join(tmp, 'save_epochs');
    await trainAndEvaluate({
      config: config(epochs, (x) => {
        x.trainConfig!.saveCheckpointsEpochs = 1; // with save_checkpoints_steps 5 still set
        x.trainConfig!.numEpochs = 2;
      }),
      stream,
      evaluate: false,
    });
    expect(listCheckpoints(epochs).map((c) => c.step)).toEqual([20, 40]);
    const none = path.join(tmp, 'save_none');
    await trainAndEvaluate({
      config: config(none, (x) => (x.trainConfig!.saveCheckpointsSteps = 0)),
      stream,
      evaluate: false,
    });
    expect(listCheckpoints(none).map((c) => c.step)).toEqual([20]);
  }, 90000);

  it('exporter_type "best" exports the best evaluated checkpoint of model_dir, "latest" the newest', () => {
    const dir = path.join(tmp, 'save_epochs'); // checkpoints 20 and 40 from the test above
    fs.writeFileSync(
      path.join(dir, 'train_eval_result.txt'),
      `${JSON.stringify({ global_step: 20, auc: 0.71, logloss: 0.5 })}\n${JSON.stringify({ global_step: 40, auc: 0.7, logloss: 0.4 })}\n`,
    );
    const exportFrom = (edit: (c: EasyRecConfig) => void, name: string) =>
      exportModel({ config: config(dir, edit), exportDir: path.join(tmp, name) }).step;
    expect(exportFrom(() => undefined, 'export_latest')).toBe(40);
    expect(
      exportFrom(
        (c) => (c.exportConfig = create(ExportConfigSchema, { exporterType: 'best', bestExporterMetric: 'auc' })),
        'export_best',
      ),
    ).toBe(20);
    // As TorchEasyRec: with several metrics, best_exporter_metric must be set.
    expect(() =>
      exportFrom((c) => (c.exportConfig = create(ExportConfigSchema, { exporterType: 'best' })), 'export_best_unset'),
    ).toThrow(
      /^Expected export_config.best_exporter_metric \(the evaluations have several metrics: auc, logloss\) in line 1 of /,
    );
    expect(
      exportFrom(
        (c) =>
          (c.exportConfig = create(ExportConfigSchema, {
            exporterType: 'best',
            bestExporterMetric: 'logloss',
            metricLargerIsBetter: false,
          })),
        'export_best_logloss',
      ),
    ).toBe(40);
  }, 60000);

  it('gradient_accumulation_steps: a checkpoint between dense steps keeps the pending gradients; resuming ends bit-identical', async () => {
    const k2 = (x: EasyRecConfig) => (x.trainConfig!.gradientAccumulationSteps = 2);
    const a = path.join(tmp, 'accum_a');
    const b = path.join(tmp, 'accum_b');
    await trainAndEvaluate({ config: config(a, k2), stream, evaluate: false });
    // Stops after step 5 (saved with one batch's gradients pending), resumes from it.
    await trainAndEvaluate({ config: config(b, k2), stream, evaluate: false, maxStepsThisRun: 5 });
    expect(listCheckpoints(b).map((c) => c.step)).toEqual([5]);
    await trainAndEvaluate({ config: config(b, k2), stream, evaluate: false, continueTrain: true });
    for (const name of ['deep/mlp_1/kernel', 'output/kernel']) {
      const got = dense(path.join(b, 'model.ckpt-20'), name);
      expect(Buffer.from(got.buffer).equals(Buffer.from(dense(path.join(a, 'model.ckpt-20'), name).buffer))).toBe(true);
    }
  }, 90000);

  it('gradient_accumulation_steps: each batch backpropagates loss / k, so a fused sparse SGD update is 1/k of it', async () => {
    const sgd = (t: string) => t.replace(/rowwise_adagrad_optimizer \{ lr: [\d.e-]+ \}/, 'sgd_optimizer { lr: 0.05 }');
    const runs: { before: Float32Array; after: Float32Array }[] = [];
    for (const k of [1, 2]) {
      let setup: ModelSetup | undefined;
      let before: Float32Array | undefined;
      let after: Float32Array | undefined;
      const rowsOf = () => {
        const c = setup!.collections[0].collection!;
        return c.readRows(0, 0, c.tables[0].rows);
      };
      await trainAndEvaluate({
        config: config(path.join(tmp, `accum_sparse_${k}`), (x) => (x.trainConfig!.gradientAccumulationSteps = k), sgd),
        stream,
        evaluate: false,
        saveCheckpoints: false,
        maxStepsThisRun: 1,
        onSetup: (s) => {
          setup = s;
          before = rowsOf();
        },
        onStep: () => {
          after = rowsOf();
        },
      });
      runs.push({ before: before!, after: after! });
    }
    expect(Buffer.from(runs[1].before.buffer).equals(Buffer.from(runs[0].before.buffer))).toBe(true);
    let moved = 0;
    for (let i = 0; i < runs[0].before.length; i++) {
      const full = runs[0].after[i] - runs[0].before[i];
      const half = runs[1].after[i] - runs[1].before[i];
      if (full !== 0) moved++;
      expect(half).toBeCloseTo(full / 2, 6);
    }
    expect(moved).toBeGreaterThan(0);
  }, 90000);

  it('dropout masks depend only on the training position: resuming mid-run ends bit-identical', async () => {
    const withDropout = (t: string) =>
      t.replace('deep { hidden_units: [256, 128, 64] }', 'deep { hidden_units: [32, 16] dropout_ratio: 0.3 }');
    const a = path.join(tmp, 'drop_a');
    const b = path.join(tmp, 'drop_b');
    await trainAndEvaluate({ config: config(a, undefined, withDropout), stream, evaluate: false });
    await trainAndEvaluate({ config: config(b, undefined, withDropout), stream, evaluate: false, maxStepsThisRun: 12 });
    fs.rmSync(path.join(b, 'model.ckpt-12'), { recursive: true });
    fs.rmSync(path.join(b, 'model.ckpt-20'), { recursive: true, force: true });
    await trainAndEvaluate({ config: config(b, undefined, withDropout), stream, evaluate: false, continueTrain: true });
    const name = 'deep/mlp_1/kernel';
    expect(
      Buffer.from(dense(path.join(b, 'model.ckpt-20'), name).buffer).equals(
        Buffer.from(dense(path.join(a, 'model.ckpt-20'), name).buffer),
      ),
    ).toBe(true);
  }, 90000);

  it('fine_tune_checkpoint loads matching weights only and lists what it skipped', async () => {
    const src = path.join(tmp, 'accum');
    const dir = path.join(tmp, 'ft');
    // A different deep MLP: its first kernel's shape changes, the rest of the model loads.
    const s = await trainAndEvaluate({
      config: config(
        dir,
        (x) => (x.trainConfig!.numSteps = 1),
        (t) => t.replace('deep { hidden_units: [256, 128, 64] }', 'deep { hidden_units: [128, 64] }'),
      ),
      stream,
      evaluate: false,
      fineTuneCheckpoint: src,
    });
    expect(s.step).toBe(1);
    const log = lines.join('');
    expect(log).toMatch(/fine_tune_checkpoint: loaded \d+ variables\/tables from .*model\.ckpt-20; skipped \d+: /);
    expect(log).toContain('deep/mlp_0/kernel');
  }, 60000);
});
