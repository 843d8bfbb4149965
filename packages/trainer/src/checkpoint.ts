import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type EasyRecConfig, saveConfig } from '@tsrec/config';
import { OPTIMIZER_STATES, type EmbeddingCollection, type SparseOptimizerType } from '@tsrec/native';

import { crc32c } from './crc32c';
import { ioError } from './io_errors';
import type { DenseOptimizer } from './dense_optimizer';
import type { ModelSetup } from './model_setup';
import { openSafetensors, writeSafetensors, type SafetensorsChunks } from './safetensors';
import { UsageError } from './usage_error';

/** `model.ckpt-<step>` (TorchEasyRec's name). */
export const CHECKPOINT_PREFIX = 'model.ckpt-';
const CHECKPOINT_RE = /^model\.ckpt-(\d+)$/;
const TMP_RE = /^\.model\.ckpt-\d+\.tmp/;
export const MANIFEST = 'manifest.json';
/** The config a checkpoint was trained with, inside the checkpoint directory. */
export const CHECKPOINT_CONFIG = 'pipeline.config';
const DENSE_FILE = 'dense.safetensors';
const DENSE_OPT_FILE = 'dense_optimizer.safetensors';

/** Where training stood when a checkpoint was written (what `--continue_train` resumes). */
export interface TrainingPosition {
  /** Optimizer steps completed. */
  step: number;
  /** Epoch the next batch belongs to (0-based). */
  epoch: number;
  /** Batches drawn from the training input so far (all epochs; with accumulation, micro-batches). */
  consumedBatches: number;
  /** Training samples seen so far. */
  samples: number;
}

/** The manifest of a checkpoint directory. */
export interface CheckpointManifest extends TrainingPosition {
  format: 'tsrec-checkpoint';
  version: 1;
  /** ISO time of the save. */
  savedAt: string;
  /** Each file with its size and its tensors' CRC-32C (checked before any restore). */
  files: { name: string; bytes: number; crc32c?: Record<string, number> }[];
  dense: { file: string; variables: { name: string; shape: number[] }[]; optimizer: string | null };
  collections: {
    key: string;
    role: string;
    file: string;
    optimizer: string;
    /** The collection's update counter (Adam bias correction). */
    updates: number;
    /**
     * Every table of the collection. `file`, when given, holds it instead of the collection's file
     * (a rank's part); `shards`, when given, are its blocks of rows (row-wise: one per rank), each a
     * tensor of that name with `rows` rows from logical row `firstRow`.
     */
    tables: {
      name: string;
      rows: number;
      dim: number;
      states: string[];
      file?: string;
      shards?: { file: string; firstRow: number; rows: number }[];
    }[];
  }[];
  /** Free-form extras (seed, metrics of the eval at this step, …). */
  extra: Record<string, unknown>;
}

/** A complete checkpoint found in a model_dir. */
export interface CheckpointRef {
  step: number;
  path: string;
}

/** Complete checkpoints of `modelDir`, oldest first (directories under a temporary name are ignored). */
export function listCheckpoints(modelDir: string): CheckpointRef[] {
  if (!fs.existsSync(modelDir)) return [];
  const out: CheckpointRef[] = [];
  for (const name of fs.readdirSync(modelDir)) {
    const m = CHECKPOINT_RE.exec(name);
    if (!m) continue;
    const p = path.join(modelDir, name);
    if (fs.existsSync(path.join(p, MANIFEST))) out.push({ step: Number(m[1]), path: p });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint, or null. */
export function latestCheckpoint(modelDir: string): CheckpointRef | null {
  const all = listCheckpoints(modelDir);
  return all.length > 0 ? all[all.length - 1] : null;
}

/**
 * The best checkpoint of a model_dir by its evaluations (TorchEasyRec's best_checkpoint): the
 * metric is export_config.best_exporter_metric when set, else the only metric of
 * train_eval_result.txt; the step with the largest value (smallest unless
 * metric_larger_is_better), the earliest on ties. Without evaluations: the latest checkpoint.
 */
export function bestCheckpoint(
  modelDir: string,
  exportConfig: { bestExporterMetric: string; metricLargerIsBetter: boolean } | undefined,
  metricSet: boolean,
  resultFile = 'train_eval_result.txt',
): CheckpointRef | null {
  const file = path.join(modelDir, resultFile);
  const lines = fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
    : [];
  if (lines.length === 0) return latestCheckpoint(modelDir);
  const larger = exportConfig?.metricLargerIsBetter ?? true;
  let best: { step: number; value: number } | null = null;
  lines.forEach((line, i) => {
    const r = JSON.parse(line) as Record<string, number>;
    const { global_step: step, ...metrics } = r;
    const names = Object.keys(metrics);
    const name = metricSet ? exportConfig!.bestExporterMetric : names.length === 1 ? names[0] : undefined;
    if (name === undefined || !(name in metrics))
      throw new UsageError(
        `Expected ${name === undefined ? 'export_config.best_exporter_metric (the evaluations have several metrics' : `metric '${name}' (export_config.best_exporter_metric`}: ${names.join(', ')}) in line ${i + 1} of ${file}`,
      );
    const v = metrics[name];
    if (best === null || (larger ? v > best.value : v < best.value)) best = { step, value: v };
  });
  const step = (best as { step: number; value: number } | null)!.step;
  const ref = listCheckpoints(modelDir).find((c) => c.step === step);
  if (!ref)
    throw new UsageError(
      `Expected the best checkpoint model.ckpt-${step} (by ${file}) in '${modelDir}' but it is not there (pruned by keep_checkpoint_max?)`,
    );
  return ref;
}

/** Removes the leftovers of checkpoint writes that were killed (`.model.ckpt-<step>.tmp*`). */
export function removeIncompleteCheckpoints(modelDir: string): string[] {
  if (!fs.existsSync(modelDir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(modelDir)) {
    if (!TMP_RE.test(name)) continue;
    fs.rmSync(path.join(modelDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Resolves a --checkpoint_path / --fine_tune_checkpoint argument: a checkpoint directory, or a
 * model_dir (its newest checkpoint).
 */
export function resolveCheckpoint(p: string): CheckpointRef {
  if (!fs.existsSync(p))
    throw new UsageError(`Expected an existing checkpoint directory or model_dir but received '${p}' (no such path)`);
  if (fs.existsSync(path.join(p, MANIFEST))) {
    const m = CHECKPOINT_RE.exec(path.basename(p));
    const manifest = readManifest(p);
    return { step: m ? Number(m[1]) : manifest.step, path: p };
  }
  const latest = latestCheckpoint(p);
  if (!latest)
    throw new UsageError(`Expected a checkpoint (${CHECKPOINT_PREFIX}<step>/${MANIFEST}) in '${p}' but found none`);
  return latest;
}

export function readManifest(dir: string): CheckpointManifest {
  const file = path.join(dir, MANIFEST);
  let m: CheckpointManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointManifest;
  } catch (e) {
    throw new Error(`Expected a readable JSON manifest at '${file}' but received an error: ${(e as Error).message}`);
  }
  if (m.format !== 'tsrec-checkpoint')
    throw new Error(`Expected format "tsrec-checkpoint" in '${file}' but received ${JSON.stringify(m.format)}`);
  if (m.version !== 1)
    throw new Error(`Expected checkpoint version 1 in '${file}' but received ${m.version} (written by a newer tsrec?)`);
  return m;
}

function fsyncPath(p: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/**
 * Writes `model.ckpt-<step>/` in `modelDir`: dense weights and optimizer state and every
 * collection's tables with their optimizer state (whole logical tables, streamed from native
 * memory), plus a manifest. Files go into `.model.ckpt-<step>.tmp-<pid>/`, are fsynced, and the
 * directory is renamed when complete, so a killed process never leaves a partial checkpoint
 * under the final name. An existing checkpoint of the same step is replaced.
 */
export function saveCheckpoint(
  modelDir: string,
  setup: ModelSetup,
  denseOptimizer: DenseOptimizer | null,
  position: TrainingPosition,
  extra: Record<string, unknown> = {},
  config?: EasyRecConfig,
): CheckpointRef {
  const finalName = `${CHECKPOINT_PREFIX}${position.step}`;
  const tmp = path.join(modelDir, `.${finalName}.tmp-${process.pid}`);
  try {
    startCheckpoint(modelDir, tmp);
    const dense = writeDenseFiles(tmp, setup, denseOptimizer, position.step, config);
    killForTestIfAsked(position.step);
    const sparse = writeSparsePart(tmp, setup, position.step, WHOLE_PART);
    return finishCheckpoint(modelDir, tmp, setup, denseOptimizer, position, extra, config, [sparse], dense);
  } catch (e) {
    // A full disk or a failing device: the partial write goes, the message says what was being written.
    fs.rmSync(tmp, { recursive: true, force: true });
    throw ioError(e, `write checkpoint ${finalName} in '${modelDir}'`);
  }
}

/** Which tables a process writes into a checkpoint, and into which file (several ranks write one checkpoint). */
export interface CheckpointPart {
  /** The file of collection `key`'s tables written by this process. */
  fileOf(key: string): string;
  /** Whether this process writes table `table` of collection `key` (it must hold it). */
  writes(key: string, table: string): boolean;
}

/** One process writes everything (`sparse_<key>.safetensors`). */
const WHOLE_PART: CheckpointPart = { fileOf: (key) => `sparse_${key}.safetensors`, writes: () => true };

/** What a process wrote of a checkpoint's tables: its files, the file of each table, its collections' update counters. */
export interface SparsePartWritten {
  files: CheckpointManifest['files'];
  /** Each table (or block of rows of one) written, with its file. */
  tables: { key: string; table: string; file: string; firstRow: number; rows: number }[];
  updates: Record<string, number>;
}

/** A fresh temporary checkpoint directory `tmp` in `modelDir`. */
export function startCheckpoint(modelDir: string, tmp: string): void {
  fs.mkdirSync(modelDir, { recursive: true });
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
}

/** Writes a file of tensors into `dir` (fsynced); returns its manifest entry with the tensors' CRC-32C. */
function writeFile(
  dir: string,
  name: string,
  tensors: Parameters<typeof writeSafetensors>[1],
  metadata: Record<string, string>,
): CheckpointManifest['files'][number] {
  const p = path.join(dir, name);
  const sums = writeSafetensors(p, tensors, metadata);
  return { name, bytes: fs.statSync(p).size, crc32c: sums };
}

/**
 * Writes the tables `part` selects, with their optimizer state, into `dir`: one file per
 * collection (none where nothing is selected). Co-located tables' weights (and row-wise state)
 * interleave in their host's rows: those are streamed out in row blocks.
 */
export function writeSparsePart(dir: string, setup: ModelSetup, step: number, part: CheckpointPart): SparsePartWritten {
  const out: SparsePartWritten = { files: [], tables: [], updates: {} };
  for (const { key, role, collection, firstRows } of setup.collections) {
    if (!collection) continue;
    out.updates[key] = collection.step;
    const file = part.fileOf(key);
    const tensors: Parameters<typeof writeSafetensors>[1] = [];
    for (const t of collection.tables) {
      if (!part.writes(key, t.name)) continue;
      const data = (width: number, state?: string) => tableData(collection, t.name, t.rows, width, state);
      tensors.push({ name: t.name, dtype: 'F32', shape: [t.rows, t.dim], data: data(t.dim) });
      for (const s of OPTIMIZER_STATES[collection.optimizer.type]) {
        const width = s.perRow ? 1 : t.dim;
        tensors.push({
          name: `${t.name}/${s.name}`,
          dtype: 'F32',
          shape: s.perRow ? [t.rows] : [t.rows, t.dim],
          data: data(width, s.name),
        });
      }
      out.tables.push({ key, table: t.name, file, firstRow: firstRows.get(t.name) ?? 0, rows: t.rows });
    }
    if (tensors.length === 0) continue;
    out.files.push(
      writeFile(dir, file, tensors, { step: String(step), kind: 'sparse', role, optimizer: collection.optimizer.type }),
    );
  }
  return out;
}

/**
 * The config the checkpoint was trained with (model_dir/pipeline.config may change later), the
 * dense weights and the dense optimizer's state, into `tmp`; returns the files' manifest entries.
 */
export function writeDenseFiles(
  tmp: string,
  setup: ModelSetup,
  denseOptimizer: DenseOptimizer | null,
  step: number,
  config: EasyRecConfig | undefined,
): CheckpointManifest['files'] {
  const files: CheckpointManifest['files'] = [];
  if (config) saveConfig(config, path.join(tmp, CHECKPOINT_CONFIG));
  files.push(
    writeFile(
      tmp,
      DENSE_FILE,
      setup.namedVariables().map(([name, v]) => ({
        name,
        dtype: 'F32' as const,
        shape: v.shape.slice(),
        data: v.dataSync() as Float32Array,
      })),
      { step: String(step), kind: 'dense' },
    ),
  );
  if (denseOptimizer) {
    const state = denseOptimizer.state();
    files.push(
      writeFile(
        tmp,
        DENSE_OPT_FILE,
        Object.entries(state).map(([name, data]) => ({ name, dtype: 'F32' as const, shape: [data.length], data })),
        { step: String(step), kind: 'dense_optimizer' },
      ),
    );
  }
  return files;
}

/**
 * Completes checkpoint `tmp` whose tables `sparse` (every writer's part) are written: the dense
 * files (unless `dense` says they are written) and the manifest, then renames it `model.ckpt-<step>`.
 */
export function finishCheckpoint(
  modelDir: string,
  tmp: string,
  setup: ModelSetup,
  denseOptimizer: DenseOptimizer | null,
  position: TrainingPosition,
  extra: Record<string, unknown>,
  config: EasyRecConfig | undefined,
  sparse: readonly SparsePartWritten[],
  dense?: CheckpointManifest['files'],
): CheckpointRef {
  const finalName = `${CHECKPOINT_PREFIX}${position.step}`;
  const files = dense ?? writeDenseFiles(tmp, setup, denseOptimizer, position.step, config);
  for (const p of sparse) files.push(...p.files);
  // Every logical table, in the order the model asked for it, with the file holding it (or the
  // files holding its blocks of rows, which must cover it exactly).
  const holders = new Map<string, { file: string; firstRow: number; rows: number }[]>();
  for (const p of sparse)
    for (const t of p.tables) {
      const k = `${t.key}\u0000${t.table}`;
      holders.set(k, [...(holders.get(k) ?? []), { file: t.file, firstRow: t.firstRow, rows: t.rows }]);
    }
  const optimizer = sparseOptimizerOf(setup);
  const collections: CheckpointManifest['collections'] = setup.collections.map(({ key, role, spec }) => {
    const file = WHOLE_PART.fileOf(key);
    const updates = Math.max(0, ...sparse.map((p) => p.updates[key] ?? 0));
    const states = OPTIMIZER_STATES[optimizer].map((s) => s.name);
    const tables = spec.tables.map((t) => {
      const parts = (holders.get(`${key}\u0000${t.name}`) ?? []).sort((a, b) => a.firstRow - b.firstRow);
      let next = 0;
      for (const s of parts) {
        if (s.firstRow !== next) break;
        next += s.rows;
      }
      if (parts.length === 0 || next !== t.rows || parts.reduce((a, s) => a + s.rows, 0) !== t.rows)
        throw new Error(
          `Expected the rows of table '${t.name}' of collection '${key}' (${t.rows}) written exactly once but the writers wrote ${parts.map((s) => `[${s.firstRow}, ${s.firstRow + s.rows}) in ${s.file}`).join(', ') || 'none'}`,
        );
      const entry = { name: t.name, rows: t.rows, dim: t.dim, states };
      if (parts.length > 1) return { ...entry, shards: parts };
      return parts[0].file === file ? entry : { ...entry, file: parts[0].file };
    });
    return { key, role, file, optimizer, updates, tables };
  });
  const manifest: CheckpointManifest = {
    format: 'tsrec-checkpoint',
    version: 1,
    ...position,
    savedAt: new Date().toISOString(),
    files,
    dense: {
      file: DENSE_FILE,
      variables: setup.namedVariables().map(([name, v]) => ({ name, shape: v.shape.slice() })),
      optimizer: denseOptimizer ? DENSE_OPT_FILE : null,
    },
    collections,
    extra,
  };
  const manifestPath = path.join(tmp, MANIFEST);
  const fd = fs.openSync(manifestPath, 'w');
  try {
    fs.writeSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncPath(tmp);
  const dest = path.join(modelDir, finalName);
  if (fs.existsSync(dest)) fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  fsyncPath(modelDir);
  return { step: position.step, path: dest };
}

/** The sparse optimizer type of a model's collections (every collection has the same). */
function sparseOptimizerOf(setup: ModelSetup): SparseOptimizerType {
  const c = setup.collections.find((e) => e.collection)?.collection;
  return c ? c.optimizer.type : setup.sparseOptimizer;
}

/**
 * Fault injection for the crash tests: with TSREC_FAULT_KILL_IN_CHECKPOINT=<step>, the process
 * SIGKILLs itself halfway through writing that step's checkpoint (dense files written, tables not).
 */
function killForTestIfAsked(step: number): void {
  const at = process.env.TSREC_FAULT_KILL_IN_CHECKPOINT;
  if (at !== undefined && Number(at) === step) process.kill(process.pid, 'SIGKILL');
}

/**
 * Checks a checkpoint against its manifest before anything is restored from it: every file is
 * there with its recorded size, and every tensor's CRC-32C matches (checkpoints written before
 * checksums existed are checked for sizes only). Throws naming the file and the tensor.
 */
export function verifyCheckpoint(dir: string): CheckpointManifest {
  const manifest = readManifest(dir);
  const buf = new Uint8Array(16 << 20);
  for (const f of manifest.files) {
    const p = path.join(dir, f.name);
    let size: number;
    try {
      size = fs.statSync(p).size;
    } catch {
      throw new Error(`Checkpoint '${dir}' is incomplete: '${f.name}' listed in its manifest is missing`);
    }
    if (size !== f.bytes)
      throw new Error(
        `Checkpoint file '${p}' is corrupt: ${size} bytes but the manifest recorded ${f.bytes} (truncated or overwritten)`,
      );
    if (!f.crc32c) continue;
    const file = openSafetensors(p);
    try {
      for (const [name, want] of Object.entries(f.crc32c)) {
        const total = file.info(name).byteLength;
        let crc = 0;
        for (let off = 0; off < total; off += buf.length) {
          const n = Math.min(buf.length, total - off);
          file.readRange(name, off, n, buf);
          crc = crc32c(buf.subarray(0, n), crc);
        }
        if (crc !== want)
          throw new Error(
            `Checkpoint file '${p}' is corrupt: tensor '${name}' has CRC-32C ${hex(crc)} but the manifest recorded ${hex(want)} (a changed byte; use an earlier checkpoint)`,
          );
      }
    } finally {
      file.close();
    }
  }
  return manifest;
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/** What `restoreCheckpoint` restores. */
export interface RestoreOptions {
  /** Restore optimizer state (dense and sparse) and the collections' update counters (continue_train). */
  optimizerState: boolean;
  /** Weights only, tolerating variables and tables the checkpoint lacks or shapes that differ (fine_tune_checkpoint). */
  partial?: boolean;
  denseOptimizer?: DenseOptimizer | null;
}

/** What was restored (for the log line of a fine-tune, which may skip parts). */
export interface RestoreReport {
  manifest: CheckpointManifest;
  restored: string[];
  skipped: string[];
}

/**
 * Loads a checkpoint into a built model: dense variables by name, tables by (collection key,
 * table name), read straight into native memory; with `optimizerState` also both optimizers'
 * state. Throws naming the file and the tensor on any mismatch, unless `partial`.
 */
export function restoreCheckpoint(dir: string, setup: ModelSetup, options: RestoreOptions): RestoreReport {
  const manifest = verifyCheckpoint(dir);
  const restored: string[] = [];
  const skipped: string[] = [];
  const partial = options.partial ?? false;
  const fail = (msg: string, name: string) => {
    if (!partial) throw new Error(msg);
    skipped.push(name);
  };

  // Dense variables
  const densePath = path.join(dir, manifest.dense.file);
  const dense = openSafetensors(densePath);
  try {
    for (const [name, v] of setup.namedVariables()) {
      if (!dense.names.includes(name)) {
        fail(
          `Expected dense variable '${name}' in '${densePath}' but it holds ${dense.names.length} others (was it written for another model config?)`,
          name,
        );
        continue;
      }
      const info = dense.info(name);
      if (info.shape.join(',') !== v.shape.join(',')) {
        fail(
          `Expected shape [${v.shape.join(', ')}] for dense variable '${name}' in '${densePath}' but received [${info.shape.join(', ')}]`,
          name,
        );
        continue;
      }
      const data = dense.read(name) as Float32Array;
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
      restored.push(name);
    }
  } finally {
    dense.close();
  }
  if (options.optimizerState && options.denseOptimizer) {
    if (!manifest.dense.optimizer)
      throw new Error(
        `Expected dense optimizer state in '${dir}' but the checkpoint has none (written by export or predict?)`,
      );
    const p = path.join(dir, manifest.dense.optimizer);
    const f = openSafetensors(p);
    try {
      const values: Record<string, Float32Array> = {};
      for (const n of f.names) values[n] = f.read(n) as Float32Array;
      options.denseOptimizer.loadState(values, `'${p}'`);
    } finally {
      f.close();
    }
  }

  // Tables: each from the file holding it (one file per collection, or per rank of a sharded run).
  const open = new Map<string, ReturnType<typeof openSafetensors>>();
  const fileAt = (name: string) => {
    let f = open.get(name);
    if (!f) {
      f = openSafetensors(path.join(dir, name));
      open.set(name, f);
    }
    return f;
  };
  try {
    for (const entry of setup.collections) {
      const saved = manifest.collections.find((c) => c.key === entry.key);
      if (!saved) {
        fail(
          `Expected embedding collection '${entry.key}' in '${path.join(dir, MANIFEST)}' but it holds ${manifest.collections.map((c) => `'${c.key}'`).join(', ') || 'none'}`,
          entry.key,
        );
        continue;
      }
      if (!entry.collection) continue;
      restoreCollection(entry.collection, entry.firstRows, dir, fileAt, saved, options.optimizerState, fail, restored);
      if (options.optimizerState) entry.collection.step = saved.updates;
    }
  } finally {
    for (const f of open.values()) f.close();
  }
  return { manifest, restored, skipped };
}

/** Rows per block when a table cannot be viewed in place (16 MiB of a 64-wide table). */
const ROW_BLOCK_FLOATS = 1 << 22;

/**
 * A table's weights (or optimizer state `state`), `width` floats per row: a view of native memory
 * where the buffer can be viewed, else blocks of rows (co-located tables share their host's rows).
 */
export function tableData(
  c: EmbeddingCollection,
  table: string,
  rows: number,
  width: number,
  state?: string,
): Float32Array | SafetensorsChunks {
  return c.viewable(table, state) ? c.view(table, state) : rowChunks(c, table, rows, width, state);
}

/** A table's weights (or optimizer state), `width` floats per row, as blocks of rows read from native memory. */
function rowChunks(
  c: EmbeddingCollection,
  table: string,
  rows: number,
  width: number,
  state?: string,
): SafetensorsChunks {
  return {
    byteLength: rows * width * 4,
    *chunks() {
      const per = Math.max(1, Math.floor(ROW_BLOCK_FLOATS / width));
      for (let r = 0; r < rows; r += per) yield c.readRows(table, r, Math.min(per, rows - r), state);
    },
  };
}

/**
 * Rows [from, from + n) of tensor `name` (`width` floats per row) into rows [at, at + n) of a
 * table's weights (or state): straight into native memory where it can be viewed, else in blocks of
 * rows (co-located tables share their host's rows).
 */
function readRows(
  f: ReturnType<typeof openSafetensors>,
  name: string,
  from: number,
  n: number,
  c: EmbeddingCollection,
  table: string,
  at: number,
  width: number,
  state?: string,
): void {
  if (c.viewable(table, state)) {
    const view = c.view(table, state);
    f.readRange(name, from * width * 4, n * width * 4, view.subarray(at * width, (at + n) * width));
    return;
  }
  const per = Math.max(1, Math.floor(ROW_BLOCK_FLOATS / width));
  const block = new Float32Array(Math.min(n, per) * width);
  for (let r = 0; r < n; r += per) {
    const k = Math.min(per, n - r);
    const part = block.subarray(0, k * width);
    f.readRange(name, (from + r) * width * 4, k * width * 4, part);
    c.writeRows(table, at + r, part, state);
  }
}

/**
 * Restores the tables a collection holds — whole, or a row-wise block from logical row
 * `firstRows.get(table)` — from the checkpoint's files: a table saved whole or in blocks of rows
 * (any number: a checkpoint of W ranks loads at any W'), each row read from the file holding it.
 */
function restoreCollection(
  c: EmbeddingCollection,
  firstRows: ReadonlyMap<string, number>,
  dir: string,
  fileAt: (name: string) => ReturnType<typeof openSafetensors>,
  saved: CheckpointManifest['collections'][number],
  withState: boolean,
  fail: (msg: string, name: string) => void,
  restored: string[],
): void {
  if (withState && saved.optimizer !== c.optimizer.type) {
    throw new Error(
      `Expected sparse optimizer state of type ${c.optimizer.type} in '${path.join(dir, saved.file)}' but the checkpoint was trained with ${saved.optimizer}; use --fine_tune_checkpoint to load the weights only`,
    );
  }
  for (const t of c.tables) {
    const entry = saved.tables.find((x) => x.name === t.name);
    if (!entry) {
      fail(
        `Expected embedding table '${t.name}' in '${path.join(dir, saved.file)}' but the checkpoint's collection '${saved.key}' holds ${saved.tables.map((x) => `'${x.name}'`).join(', ')}`,
        t.name,
      );
      continue;
    }
    const first = firstRows.get(t.name);
    const where = path.join(dir, entry.file ?? saved.file);
    // A whole table must have the saved shape; a row-wise block must lie inside the saved table.
    if (entry.dim !== t.dim || (first === undefined ? entry.rows !== t.rows : first + t.rows > entry.rows)) {
      fail(
        `Expected shape [${first === undefined ? t.rows : `≥ ${first + t.rows}`}, ${t.dim}] for embedding table '${t.name}' in '${where}' but received [${entry.rows}, ${entry.dim}]`,
        t.name,
      );
      continue;
    }
    const at = first ?? 0;
    const shards = entry.shards ?? [{ file: entry.file ?? saved.file, firstRow: 0, rows: entry.rows }];
    const buffers = [
      { tensor: t.name, width: t.dim, state: undefined as string | undefined },
      ...(withState
        ? OPTIMIZER_STATES[c.optimizer.type].map((s) => ({
            tensor: `${t.name}/${s.name}`,
            width: s.perRow ? 1 : t.dim,
            state: s.name as string | undefined,
          }))
        : []),
    ];
    for (const s of shards) {
      const lo = Math.max(at, s.firstRow);
      const hi = Math.min(at + t.rows, s.firstRow + s.rows);
      if (lo >= hi) continue;
      const file = path.join(dir, s.file);
      const f = fileAt(s.file);
      for (const b of buffers) {
        if (!f.names.includes(b.tensor))
          throw new Error(
            b.state
              ? `Expected optimizer state '${b.tensor}' in '${file}' but received none`
              : `Expected embedding table '${t.name}' in '${file}' (its manifest says so) but the file does not hold it`,
          );
        const shape = f.info(b.tensor).shape;
        if (shape[0] !== s.rows || (shape.length > 1 ? shape[1] : 1) !== b.width)
          throw new Error(
            `Expected shape [${s.rows}, ${b.width}] for '${b.tensor}' in '${file}' but received [${shape.join(', ')}]`,
          );
        readRows(f, b.tensor, lo - s.firstRow, hi - lo, c, t.name, lo - at, b.width, b.state);
      }
    }
    restored.push(t.name);
  }
}

/**
 * Deletes the oldest checkpoints beyond `keep` (0 keeps all), never the newest nor one in
 * `protect` (the best), so up to keep + 1 remain.
 * Returns the removed paths.
 */
export function pruneCheckpoints(modelDir: string, keep: number, protect: ReadonlySet<number> = new Set()): string[] {
  if (keep <= 0) return [];
  const all = listCheckpoints(modelDir);
  // The newest is what --continue_train resumes: never removed, like a protected one.
  const removable = all.filter((c, i) => !protect.has(c.step) && i < all.length - 1);
  const excess = all.length - keep;
  const removed: string[] = [];
  for (let i = 0; i < excess && i < removable.length; i++) {
    // Rename first, so a kill mid-delete never leaves a half-deleted checkpoint under its name.
    const trash = path.join(modelDir, `.${path.basename(removable[i].path)}.tmp-delete`);
    fs.renameSync(removable[i].path, trash);
    fs.rmSync(trash, { recursive: true, force: true });
    removed.push(removable[i].path);
  }
  return removed;
}
