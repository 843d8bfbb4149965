import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipelineConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';

import { readManifest, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { ensureExampleData, exampleConfigText } from './default_example';
import { EarlyStopper } from './early_stop';
import { buildModel } from './model_setup';
import { Predictor } from './predictor';
import { sparseOptimizerFromConfig } from './sparse_optimizer';

beforeAll(() => setUpTfjs('cpu'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-errors-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sparse = (text: string) =>
  sparseOptimizerFromConfig(
    loadPipelineConfig(`train_config { sparse_optimizer { ${text} } }`).trainConfig!.sparseOptimizer,
  );
const stopper = (text: string) => new EarlyStopper(loadPipelineConfig(`export_config { ${text} }`), tmp);

describe('error paths name the field and the value', () => {
  it('sparse optimizer: unsupported type, missing, negative lr', () => {
    expect(() => sparse('lamb_optimizer {}')).toThrow(
      'train_config.sparse_optimizer.lamb_optimizer is not supported yet (sgd_optimizer, adagrad_optimizer, adam_optimizer and rowwise_adagrad_optimizer are); change it in the config',
    );
    expect(() => sparseOptimizerFromConfig(undefined)).toThrow(
      'Expected train_config.sparse_optimizer with one of sgd_optimizer, adagrad_optimizer, adam_optimizer, rowwise_adagrad_optimizer but received none',
    );
    expect(() => sparse('sgd_optimizer { lr: -1 }')).toThrow(
      'Expected a finite number >= 0 for train_config.sparse_optimizer.lr but received -1',
    );
    expect(
      sparse(
        'rowwise_adagrad_optimizer { lr: 0.1 weight_decay: 0.01 weight_decay_mode: DECOUPLE gradient_clipping: true max_gradient: 2 }',
      ).spec,
    ).toMatchObject({ type: 'rowwise_adagrad', weightDecayMode: 'decouple', maxGradient: 2 });
  });

  it('early stopping: unknown function, a threshold that is not a number, a metric that is not evaluated', () => {
    expect(() => stopper('early_stop_func: "stop_if_bored"')).toThrow(
      'Expected one of stop_if_no_increase, stop_if_no_decrease, stop_if_higher_than, stop_if_lower_than for export_config.early_stop_func but received "stop_if_bored"',
    );
    expect(() =>
      stopper(
        'enable_early_stop: true early_stop_func: "stop_if_higher_than" early_stop_params: "{\\"threshold\\": \\"x\\"}"',
      ),
    ).toThrow(
      'Expected {"threshold": <number>} for export_config.early_stop_params of stop_if_higher_than but received "{\\"threshold\\": \\"x\\"}"',
    );
    expect(() => stopper('enable_early_stop: true best_exporter_metric: "gauc"').update(1, { auc: 0.7 }, 'x')).toThrow(
      "Expected metric 'gauc' (export_config.best_exporter_metric) among the eval metrics auc but it is not there",
    );
  });

  it('checkpoints: a manifest of another format, a model built from another config, an unknown output column', async () => {
    const data = ensureExampleData(path.join(tmp, 'cache'), {
      trainRows: 300,
      evalRows: 100,
      seed: 4,
      cardinalityScale: 0.001,
    });
    const config = loadPipelineConfig(
      exampleConfigText({
        train: data.train,
        eval: data.eval,
        modelDir: path.join(tmp, 'm'),
        cardinalityScale: 0.001,
        epochs: 1,
        batchSize: 50,
      }),
    );
    const setup = buildModel(config);
    const ref = saveCheckpoint(path.join(tmp, 'm'), setup, null, {
      step: 3,
      epoch: 0,
      consumedBatches: 3,
      samples: 150,
    });
    setup.dispose();

    const bad = path.join(tmp, 'bad_manifest');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'manifest.json'), '{"format": "other"}');
    expect(() => readManifest(bad)).toThrow(
      `Expected format "tsrec-checkpoint" in '${path.join(bad, 'manifest.json')}' but received "other"`,
    );

    const other = buildModel(
      loadPipelineConfig(
        exampleConfigText({
          train: data.train,
          eval: data.eval,
          modelDir: '',
          cardinalityScale: 0.001,
          epochs: 1,
        }).replace('hidden_units: [256, 128, 64]', 'hidden_units: [32]'),
      ),
    );
    expect(() => restoreCheckpoint(ref.path, other, { optimizerState: false })).toThrow(
      `Expected shape [429, 32] for dense variable 'deep/mlp_0/kernel' in '${path.join(ref.path, 'dense.safetensors')}' but received [429, 256]`,
    );
    other.dispose();

    const p = Predictor.fromCheckpoint(config, ref.path);
    await expect(p.predictFile(data.eval, path.join(tmp, 'out.csv'), { outputColumns: ['score'] })).rejects.toThrow(
      "Expected output column 'score' among the model outputs logits, probs but it is not there",
    );
    expect(fs.existsSync(path.join(tmp, 'out.csv'))).toBe(false); // nothing half-written
    p.dispose();
  }, 60000);
});
