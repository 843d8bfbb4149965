import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { type ExampleData, exampleConfigText, openSafetensors } from '@tsrec/trainer';
import { REPO_ROOT } from './cli';

/** What the example's data generator returns: train folder, eval file and the planted AUC of the eval rows. */
export interface ExampleDataPaths {
  train: string;
  eval: string;
  plantedAuc: number;
}

/**
 * The default example's synthetic data set (`prepareExampleData` of the built @tsrec/trainer, in a
 * child process with its worker threads): generating inside jest was several times slower than
 * plain node here (51,000 rows: 10.8 s vs 2.4 s; 320,000 rows: 142 s, with another job running,
 * vs 8 s).
 */
export function generateExampleData(dir: string, d: ExampleData): Promise<ExampleDataPaths> {
  const script = `require(${JSON.stringify(path.join(REPO_ROOT, 'packages/trainer'))}).prepareExampleData(${JSON.stringify(dir)}, ${JSON.stringify(d)}).then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); })`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`Expected the synthetic data generator to succeed but it failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as ExampleDataPaths);
    });
  });
}

/** Settings layered over the default example's config text (DeepFM on the synthetic Criteo-like set). */
export interface SyntheticConfigOptions {
  train: string;
  eval: string;
  modelDir: string;
  cardinalityScale: number;
  epochs?: number;
  batchSize?: number;
  /** train_config.num_steps instead of num_epochs. */
  numSteps?: number;
  saveCheckpointsSteps?: number;
  logStepCountSteps?: number;
  keepCheckpointMax?: number;
  numWorkers?: number;
  shuffleBufferSize?: number;
  /** Row-wise Adagrad lr of the tables (the example's: 0.05). */
  sparseLr?: number;
  /** Replaces the example's dense_optimizer block (Adam with exponential decay and warmup). */
  denseOptimizer?: string;
  embeddingDim?: number;
  hiddenUnits?: number[];
  /** Multiplies the example's hash_bucket_size (2 × cardinality): fewer collisions. */
  hashBucketFactor?: number;
  /**
   * Bucketize the 13 count features (log-spaced boundaries, embedded) and add them to the wide
   * group, instead of the log10-normalized raw values the deep tower alone sees.
   */
  bucketizeCounts?: boolean;
}

/** Log-spaced boundaries of the synthetic counts (0, 1, 2, 3, 4-5, …). */
export const COUNT_BOUNDARIES = [
  0.5, 1.5, 2.5, 3.5, 5.5, 7.5, 10.5, 14.5, 20.5, 28.5, 40.5, 57.5, 80.5, 113.5, 160.5, 226.5, 320.5, 452.5, 640.5,
  905.5,
];

function replaceOnce(text: string, from: string | RegExp, to: string | ((...m: string[]) => string)): string {
  const out = text.replace(from, to as string);
  if (out === text && !(typeof to === 'string' && text.includes(to)))
    throw new Error(`Expected ${String(from)} in the example config text (did default_example.ts change?)`);
  return out;
}

/** The example's pipeline config text with the test's settings. */
export function syntheticConfigText(o: SyntheticConfigOptions): string {
  let t = exampleConfigText({
    train: o.train,
    eval: o.eval,
    modelDir: o.modelDir,
    cardinalityScale: o.cardinalityScale,
    epochs: o.epochs ?? 1,
    batchSize: o.batchSize ?? 1024,
  });
  if (o.numSteps !== undefined) t = replaceOnce(t, /num_epochs: \d+/, `num_steps: ${o.numSteps}`);
  if (o.saveCheckpointsSteps !== undefined)
    t = replaceOnce(t, /save_checkpoints_steps: \d+/, `save_checkpoints_steps: ${o.saveCheckpointsSteps}`);
  if (o.logStepCountSteps !== undefined)
    t = replaceOnce(t, /log_step_count_steps: \d+/, `log_step_count_steps: ${o.logStepCountSteps}`);
  if (o.keepCheckpointMax !== undefined)
    t = replaceOnce(t, /keep_checkpoint_max: \d+/, `keep_checkpoint_max: ${o.keepCheckpointMax}`);
  if (o.numWorkers !== undefined) t = replaceOnce(t, /num_workers: \d+/, `num_workers: ${o.numWorkers}`);
  if (o.shuffleBufferSize !== undefined)
    t = replaceOnce(t, /shuffle_buffer_size: \d+/, `shuffle_buffer_size: ${o.shuffleBufferSize}`);
  if (o.sparseLr !== undefined)
    t = replaceOnce(
      t,
      /rowwise_adagrad_optimizer \{ lr: [\d.e-]+ \}/,
      `rowwise_adagrad_optimizer { lr: ${o.sparseLr} }`,
    );
  if (o.denseOptimizer !== undefined)
    t = replaceOnce(t, /dense_optimizer \{.*\}\n/, `dense_optimizer { ${o.denseOptimizer} }\n`);
  if (o.embeddingDim !== undefined) t = replaceOnce(t, /embedding_dim: 16/g, `embedding_dim: ${o.embeddingDim}`);
  if (o.hiddenUnits !== undefined)
    t = replaceOnce(t, /hidden_units: \[[\d, ]+\]/, `hidden_units: [${o.hiddenUnits.join(', ')}]`);
  if (o.hashBucketFactor !== undefined)
    t = replaceOnce(
      t,
      /hash_bucket_size: (\d+)/g,
      (_: string, n: string) => `hash_bucket_size: ${Math.round(Number(n) * o.hashBucketFactor!)}`,
    );
  if (o.bucketizeCounts) {
    t = replaceOnce(
      t,
      /normalizer: "[^"]*"/g,
      `boundaries: [${COUNT_BOUNDARIES.join(', ')}] embedding_dim: ${o.embeddingDim ?? 16}`,
    );
    const counts = Array.from({ length: 13 }, (_, d) => `feature_names: "I${d + 1}"`).join(' ');
    t = replaceOnce(t, 'group_name: "wide" ', `group_name: "wide" ${counts} `);
  }
  return t;
}

/** Writes the config text to `file` and returns the path. */
export function writeConfig(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/**
 * Every tensor of a checkpoint directory's `*.safetensors` files, by `file:tensor`, as raw bytes;
 * a rank's part of a sharded checkpoint (`sparse_<key>.rank<r>.safetensors`) counts as
 * `sparse_<key>.safetensors`, so checkpoints compare by logical table whatever the placement.
 */
export function checkpointTensors(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.safetensors'))
    .sort()) {
    const st = openSafetensors(path.join(dir, f));
    try {
      for (const n of st.names) {
        const a = st.read(n) as ArrayBufferView;
        out.set(
          `${f.replace(/\.rank\d+(?=\.safetensors$)/, '')}:${n}`,
          Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        );
      }
    } finally {
      st.close();
    }
  }
  return out;
}

/** Names of the tensors that differ (or exist on one side only) between two checkpoint directories. */
export function differingTensors(a: string, b: string): string[] {
  const ta = checkpointTensors(a);
  const tb = checkpointTensors(b);
  const names = new Set([...ta.keys(), ...tb.keys()]);
  return [...names].filter((n) => !ta.has(n) || !tb.has(n) || !ta.get(n)!.equals(tb.get(n)!)).sort();
}

/** `model.ckpt-<step>` directories of a model_dir, by step. */
export function checkpointSteps(modelDir: string): number[] {
  if (!fs.existsSync(modelDir)) return [];
  return fs
    .readdirSync(modelDir)
    .map((n) => /^model\.ckpt-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => !!m && fs.existsSync(path.join(modelDir, m[0], 'manifest.json')))
    .map((m) => Number(m[1]))
    .sort((x, y) => x - y);
}

export type { ExampleData };
