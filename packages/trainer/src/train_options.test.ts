import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipelineConfig, type EasyRecConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { listCheckpoints, readManifest } from './checkpoint';
import { ensureExampleData, exampleConfigText } from './default_example';
import { openSafetensors } from './safetensors';
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

  it('gradient_accumulation_steps: one dense step per k batches, samples and data position count every batch', async () => {
    const dir = path.join(tmp, 'accum');
    const s = await trainAndEvaluate({
      config: config(dir, (x) => (x.trainConfig!.gradientAccumulationSteps = 2)),
      stream,
      evaluate: false,
    });
    // 4000 rows / 200 = 20 batches → 10 dense steps
    expect(s.step).toBe(10);
    expect(s.samples).toBe(4000);
    expect(readManifest(listCheckpoints(dir).pop()!.path)).toMatchObject({ step: 10, consumedBatches: 20 });
  }, 60000);

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
    expect(log).toMatch(/fine_tune_checkpoint: loaded \d+ variables\/tables from .*model\.ckpt-10; skipped \d+: /);
    expect(log).toContain('deep/mlp_0/kernel');
  }, 60000);
});
