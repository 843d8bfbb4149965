/**
 * `npx nx run trainer:train`: the embedded default example. On first use it generates the
 * synthetic Criteo-like data set of @tsrec/data (labels from a planted model) into a cache
 * folder, then trains DeepFM on it with progress, and ends with a report: samples/s, the eval
 * AUC and logloss, and the planted model's AUC (the best any model can reach) for comparison.
 *
 * Environment: TSREC_CACHE_DIR (default <repo>/node_modules/.cache/tsrec), TSREC_EXAMPLE_ROWS
 * (training rows, default 800,000), TSREC_EXAMPLE_EPOCHS (default 2), TSREC_MODEL_DIR (default
 * a fresh folder under the cache).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadPipelineConfig } from '@tsrec/config';
import { CriteoSynthetic, DEFAULT_CARDINALITIES } from '@tsrec/data';
import { exactAuc, setUpTfjs } from '@tsrec/models';
import { selectBackend } from '@tsrec/native';

import { trainAndEvaluate } from './train_eval';

/** Settings of the synthetic set the example and the e2e tests use. */
export interface ExampleData {
  trainRows: number;
  evalRows: number;
  seed: number;
  /** Multiplies the default cardinalities (smaller: ids repeat more, the planted AUC is reachable with less data). */
  cardinalityScale: number;
}

/**
 * The default run: settings from the e2e tuning (test/README.md, "Synthetic"): small columns
 * (2..50 ids, Zipf), 16× hash buckets, the 13 counts also bucketized into the wide group, batch
 * 256 — about 1.6M samples in about two minutes here, an eval AUC about 0.013 below the planted one.
 */
export const DEFAULT_EXAMPLE: ExampleData = { trainRows: 800_000, evalRows: 50_000, seed: 1, cardinalityScale: 0.0005 };

/** Model and training settings layered over `exampleConfigText` (its defaults when unset). */
export interface ExampleSettings {
  epochs: number;
  batchSize: number;
  sparseLr?: number;
  /** Replaces the dense_optimizer block (default Adam 0.002 with exponential decay and warmup). */
  denseOptimizer?: string;
  hiddenUnits?: number[];
  /** Multiplies hash_bucket_size (default 2 × cardinality). */
  hashBucketFactor?: number;
  /** Bucketize the 13 counts (log-spaced boundaries) and add them to the wide group. */
  bucketizeCounts?: boolean;
  saveCheckpointsSteps?: number;
  logStepCountSteps?: number;
}

export const DEFAULT_SETTINGS: ExampleSettings = {
  epochs: 2,
  batchSize: 256,
  sparseLr: 0.05,
  denseOptimizer: 'adam_optimizer { lr: 0.001 } constant_learning_rate {}',
  hiddenUnits: [64, 32],
  hashBucketFactor: 16,
  bucketizeCounts: true,
  saveCheckpointsSteps: 2000,
  logStepCountSteps: 200,
};

/** Log-spaced boundaries of the synthetic counts (0, 1, 2, 3, 4-5, …). */
export const COUNT_BOUNDARIES = [
  0.5, 1.5, 2.5, 3.5, 5.5, 7.5, 10.5, 14.5, 20.5, 28.5, 40.5, 57.5, 80.5, 113.5, 160.5, 226.5, 320.5, 452.5, 640.5,
  905.5,
];

/** The example's config text with `settings` applied. */
export function exampleConfigWith(
  o: { train: string; eval: string; modelDir: string; cardinalityScale: number },
  settings: ExampleSettings,
): string {
  let t = exampleConfigText({ ...o, epochs: settings.epochs, batchSize: settings.batchSize });
  if (settings.sparseLr !== undefined)
    t = t.replace(
      /rowwise_adagrad_optimizer \{ lr: [\d.e-]+ \}/,
      `rowwise_adagrad_optimizer { lr: ${settings.sparseLr} }`,
    );
  if (settings.denseOptimizer !== undefined)
    t = t.replace(/dense_optimizer \{.*\}\n/, `dense_optimizer { ${settings.denseOptimizer} }\n`);
  if (settings.hiddenUnits !== undefined)
    t = t.replace(/hidden_units: \[[\d, ]+\]/, `hidden_units: [${settings.hiddenUnits.join(', ')}]`);
  if (settings.saveCheckpointsSteps !== undefined)
    t = t.replace(/save_checkpoints_steps: \d+/, `save_checkpoints_steps: ${settings.saveCheckpointsSteps}`);
  if (settings.logStepCountSteps !== undefined)
    t = t.replace(/log_step_count_steps: \d+/, `log_step_count_steps: ${settings.logStepCountSteps}`);
  const factor = settings.hashBucketFactor;
  if (factor !== undefined)
    t = t.replace(
      /hash_bucket_size: (\d+)/g,
      (_: string, n: string) => `hash_bucket_size: ${Math.round(Number(n) * factor)}`,
    );
  if (settings.bucketizeCounts) {
    t = t.replace(/normalizer: "[^"]*"/g, `boundaries: [${COUNT_BOUNDARIES.join(', ')}] embedding_dim: 16`);
    const counts = Array.from({ length: 13 }, (_, d) => `feature_names: "I${d + 1}"`).join(' ');
    t = t.replace('group_name: "wide" ', `group_name: "wide" ${counts} `);
  }
  return t;
}

/**
 * Writes (once) the train rows as part files in `train/` and the eval rows as eval.tsv into a
 * folder of `dir` named after the settings; returns their paths and the planted AUC of the eval
 * rows. From compiled code the train parts are generated in parallel worker threads.
 */
export async function prepareExampleData(
  dir: string,
  d: ExampleData,
  log: (s: string) => void = () => undefined,
): Promise<{ train: string; eval: string; plantedAuc: number }> {
  return exampleData(dir, d, log, true) as Promise<{ train: string; eval: string; plantedAuc: number }>;
}

/** `prepareExampleData` without worker threads (synchronous; tests). */
export function ensureExampleData(
  dir: string,
  d: ExampleData,
  log: (s: string) => void = () => undefined,
): { train: string; eval: string; plantedAuc: number } {
  return exampleData(dir, d, log, false) as { train: string; eval: string; plantedAuc: number };
}

type ExamplePaths = { train: string; eval: string; plantedAuc: number };

function exampleData(
  dir: string,
  d: ExampleData,
  log: (s: string) => void,
  parallel: boolean,
): ExamplePaths | Promise<ExamplePaths> {
  const tag = `criteo_synth_s${d.seed}_c${d.cardinalityScale}_${d.trainRows}_${d.evalRows}`;
  const root = path.join(dir, tag);
  const train = path.join(root, 'train');
  const evalPath = path.join(root, 'eval.tsv');
  const reportPath = path.join(root, 'report.json');
  if (!fs.existsSync(reportPath)) {
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(train, { recursive: true });
    const t0 = Date.now();
    log(`generating the synthetic Criteo-like data set into ${root} (first use) …`);
    // Train and eval are disjoint row ranges of one generator seed: same planted model.
    const parts = Math.max(1, Math.min(4, os.availableParallelism(), Math.ceil(d.trainRows / 100_000)));
    const ranges = Array.from({ length: parts }, (_, i) => {
      const start = Math.floor((d.trainRows * i) / parts);
      return {
        file: path.join(train, `part-${i}.tsv`),
        start,
        rows: Math.floor((d.trainRows * (i + 1)) / parts) - start,
      };
    });
    const worker = path.join(__dirname, 'example_data_worker.js');
    const gen = new CriteoSynthetic({
      rows: d.trainRows + d.evalRows,
      seed: d.seed,
      cardinalityScale: d.cardinalityScale,
    });
    const finish = (): ExamplePaths => {
      writeRowRange(evalPath, gen, d.trainRows, d.evalRows);
      // The planted probability's AUC over the eval rows: the best any model can reach on them.
      const ev = gen.chunk(d.trainRows, d.evalRows);
      const best = exactAuc(ev.probability, ev.labels);
      fs.writeFileSync(reportPath, `${JSON.stringify({ ...d, evalPlantedAuc: best }, null, 2)}\n`);
      log(
        `generated ${(d.trainRows + d.evalRows).toLocaleString('en-US')} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      return { train, eval: evalPath, plantedAuc: best };
    };
    if (parallel && parts > 1 && __filename.endsWith('.js') && fs.existsSync(worker)) {
      return Promise.all(
        ranges.map(
          (r) =>
            new Promise<void>((resolve, reject) => {
              const w = new Worker(worker, {
                workerData: {
                  ...r,
                  seed: d.seed,
                  cardinalityScale: d.cardinalityScale,
                  total: d.trainRows + d.evalRows,
                },
              });
              w.once('error', reject);
              w.once('exit', (code) =>
                code === 0
                  ? resolve()
                  : reject(new Error(`Expected the data generation worker to exit with 0 but it exited with ${code}`)),
              );
            }),
        ),
      ).then(finish);
    }
    for (const r of ranges) writeRowRange(r.file, gen, r.start, r.rows);
    return finish();
  }
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as { evalPlantedAuc: number };
  return { train, eval: evalPath, plantedAuc: report.evalPlantedAuc };
}

/** Writes rows [start, start + rows) of `gen` as TSV with a header (under a temporary name, then renamed). */
export function writeRowRange(file: string, gen: CriteoSynthetic, start: number, rows: number): void {
  const fd = fs.openSync(`${file}.tmp`, 'w');
  try {
    fs.writeSync(
      fd,
      `${['label', ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)].join('\t')}\n`,
    );
    for (let s = 0; s < rows; s += 65536) {
      const n = Math.min(65536, rows - s);
      const c = gen.chunk(start + s, n);
      const lines: string[] = new Array(n);
      for (let r = 0; r < n; r++) {
        const cells: string[] = [String(c.labels[r])];
        for (let d = 0; d < 13; d++) {
          const v = c.dense[r * 13 + d];
          cells.push(Number.isNaN(v) ? '' : String(v));
        }
        for (let k = 0; k < 26; k++) cells.push(c.categorical[k][r] ?? '');
        lines[r] = cells.join('\t');
      }
      fs.writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * The feature_configs and model_config of DeepFM on the synthetic Criteo-like columns: 13 log10
 * counts (I1..I13), 26 hashed ids (C1..C26, `bucketsOf(k)` buckets, dim 16), groups wide/fm/deep,
 * deep MLP 256-128-64 (429 inputs) — shared by the example and `trainer:bench`.
 */
export function criteoDeepFmText(bucketsOf: (k: number) => number, metrics: string): string {
  const feats: string[] = [];
  for (let d = 0; d < 13; d++)
    feats.push(
      `feature_configs { raw_feature { feature_name: "I${d + 1}" expression: "user:I${d + 1}" normalizer: "method=log10,threshold=1e-10,default=-10" } }`,
    );
  for (let k = 0; k < 26; k++)
    feats.push(
      `feature_configs { id_feature { feature_name: "C${k + 1}" expression: "item:C${k + 1}" hash_bucket_size: ${bucketsOf(k)} embedding_dim: 16 } }`,
    );
  const cats = Array.from({ length: 26 }, (_, k) => `feature_names: "C${k + 1}"`).join(' ');
  const ints = Array.from({ length: 13 }, (_, d) => `feature_names: "I${d + 1}"`).join(' ');
  return `${feats.join('\n')}
model_config {
  feature_groups { group_name: "wide" ${cats} group_type: WIDE }
  feature_groups { group_name: "fm" ${cats} group_type: DEEP }
  feature_groups { group_name: "deep" ${ints} ${cats} group_type: DEEP }
  deepfm { deep { hidden_units: [256, 128, 64] } wide_embedding_dim: 4 }
${metrics}  losses { binary_cross_entropy {} }
}
`;
}

/** The pipeline config of the example (DeepFM, issue 6's shapes at example scale). */
export function exampleConfigText(o: {
  train: string;
  eval: string;
  modelDir: string;
  cardinalityScale: number;
  epochs: number;
  batchSize?: number;
}): string {
  return `
train_input_path: "${o.train}"
eval_input_path: "${o.eval}"
model_dir: "${o.modelDir}"
train_config {
  sparse_optimizer { rowwise_adagrad_optimizer { lr: 0.05 } constant_learning_rate {} }
  dense_optimizer { adam_optimizer { lr: 0.002 } exponential_decay_learning_rate { decay_size: 100 decay_factor: 0.9 warmup_size: 20 warmup_learning_rate: 0.0002 min_learning_rate: 0.0002 } }
  num_epochs: ${o.epochs}
  save_checkpoints_steps: 100
  log_step_count_steps: 20
  keep_checkpoint_max: 2
}
eval_config {}
data_config {
  batch_size: ${o.batchSize ?? 4096}
  dataset_type: CsvDataset
  delimiter: "\\t"
  with_header: true
  fg_mode: FG_NORMAL
  label_fields: "label"
  num_workers: 1
  shuffle: true
  shuffle_buffer_size: 65536
}
${criteoDeepFmText((k) => Math.max(10, Math.ceil(DEFAULT_CARDINALITIES[k] * o.cardinalityScale) * 2), '  metrics { auc {} }\n')}`;
}

function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'nx.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** Runs the example; returns the process exit status. */
export async function runDefaultExample(): Promise<number> {
  const t0 = Date.now();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const cache = process.env.TSREC_CACHE_DIR || path.join(repoRoot(), 'node_modules', '.cache', 'tsrec');
  const d: ExampleData = {
    ...DEFAULT_EXAMPLE,
    trainRows: Number(process.env.TSREC_EXAMPLE_ROWS || DEFAULT_EXAMPLE.trainRows),
  };
  const settings: ExampleSettings = {
    ...DEFAULT_SETTINGS,
    epochs: Number(process.env.TSREC_EXAMPLE_EPOCHS || DEFAULT_SETTINGS.epochs),
  };
  const epochs = settings.epochs;
  const data = await prepareExampleData(cache, d, log);
  const modelDir =
    process.env.TSREC_MODEL_DIR || path.join(cache, 'runs', `deepfm_${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const config = loadPipelineConfig(
    exampleConfigWith({ train: data.train, eval: data.eval, modelDir, cardinalityScale: d.cardinalityScale }, settings),
    { validate: true, fileName: '<default example>' },
  );
  await setUpTfjs(await selectBackend({}));
  const s = await trainAndEvaluate({ config, stream: process.stderr });
  const auc = s.lastEval?.metrics.auc ?? NaN;
  const logloss = s.lastEval?.metrics.binary_cross_entropy ?? NaN;
  const lines = [
    '',
    'DeepFM on the synthetic Criteo-like set',
    `  train rows        ${d.trainRows.toLocaleString('en-US')} × ${epochs} epoch(s), batch ${settings.batchSize}, ${s.step} steps`,
    `  throughput        ${Math.round(s.samplesPerSecond).toLocaleString('en-US')} samples/s (data loading, training and evaluations)`,
    `  eval AUC          ${auc.toFixed(4)}   (planted model: ${data.plantedAuc.toFixed(4)}, gap ${(data.plantedAuc - auc).toFixed(4)})`,
    `  eval logloss      ${logloss.toFixed(4)}`,
    `  model_dir         ${s.modelDir}`,
    `  total time        ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

if (require.main === module) {
  runDefaultExample().then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`trainer:train: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
