import * as tf from '@tensorflow/tfjs-core';
import type { EasyRecConfig } from '@tsrec/config';
import { createDataLoaderFromConfig, type Batch } from '@tsrec/data';
import { labelRulesOf } from '@tsrec/models';

import type { Communicator } from '@tsrec/native';

import { allgatherBytes, packValue, unpackValue, withoutTimeout } from './distributed';
import type { ModelSetup } from './model_setup';
import { type ShardedCollection, sparseBatchOf } from './sharded_collection';

/** Options of `evaluate`. */
export interface EvaluateOptions {
  inputPath?: string | string[];
  /** At most this many batches (eval_config.num_steps; 0 or undefined: the whole input). */
  numSteps?: number;
  numWorkers?: number;
  /** Called after each batch with the batches done so far. */
  onBatch?: (batches: number, samples: number) => void;
  /**
   * Several ranks: each evaluates its rows (g ≡ rank mod W, none dropped; `numSteps` batches at most
   * per rank, as TorchEasyRec's workers), then the metrics' states, loss sums and counts are
   * all-gathered and merged in rank order, so every rank returns the metrics of the whole input
   * (exact AUC: the merged state holds every score).
   */
  comm?: Communicator;
  /**
   * Sharded collections (several ranks): every eval batch needs every rank (the ids go to the
   * ranks holding their tables), so the ranks go in lockstep — one small allreduce per batch says
   * whether any rank still has data; a rank that has run out joins with empty batches.
   */
  sharded?: readonly ShardedCollection[];
}

/** Metrics of one evaluation by TorchEasyRec name, then each loss's mean over the rows (by loss name), plus how much was read. */
export interface EvalResult {
  metrics: Record<string, number>;
  batches: number;
  samples: number;
  seconds: number;
}

/** Every `grouping_key` named by a metric of the model config (grouped AUC needs the feature's values). */
export function groupingKeysOf(config: EasyRecConfig): string[] {
  const keys = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'groupingKey' && typeof x === 'string' && x) keys.add(x);
      else if (k !== '$typeName') walk(x, depth + 1);
    }
  };
  walk(config.modelConfig, 0);
  return [...keys];
}

/** The per-row value of each grouping key: the first id of a sparse feature (-1 when empty) or a dense column. */
export function groupsOf(batch: Batch, keys: readonly string[]): Record<string, Int32Array | Float32Array> {
  const out: Record<string, Int32Array | Float32Array> = {};
  const B = batch.batchSize;
  for (const key of keys) {
    const f = batch.sparse.keys.indexOf(key);
    if (f >= 0) {
      const g = new Int32Array(B);
      const { offsets, values } = batch.sparse;
      for (let b = 0; b < B; b++) {
        const s = offsets[f * B + b];
        g[b] = offsets[f * B + b + 1] > s ? values[s] : -1;
      }
      out[key] = g;
      continue;
    }
    const d = batch.denseKeys.indexOf(key);
    if (d < 0)
      throw new Error(
        `Expected grouping_key '${key}' to name a feature of the batch (${[...batch.sparse.keys, ...batch.denseKeys].join(', ')}) but it does not`,
      );
    let col = 0;
    for (let i = 0; i < d; i++) col += batch.denseDims[i];
    const width = batch.denseDims.reduce((s, x) => s + x, 0);
    const g = new Float32Array(B);
    for (let b = 0; b < B; b++) g[b] = batch.dense[b * width + col];
    out[key] = g;
  }
  return out;
}

/**
 * Runs the model over the eval input (eval_input_path or `inputPath`) and returns its metrics
 * (the model's metrics are reset before and after).
 */
export async function evaluate(
  config: EasyRecConfig,
  setup: ModelSetup,
  options: EvaluateOptions = {},
): Promise<EvalResult> {
  const start = Date.now();
  const model = setup.model;
  model.computeMetrics(true);
  const keys = groupingKeysOf(config);
  const comm = options.comm;
  const loader = createDataLoaderFromConfig(config, {
    mode: 'eval',
    rank: comm?.rank ?? 0,
    worldSize: comm?.size ?? 1,
    inputPath: options.inputPath,
    numWorkers: options.numWorkers,
    labelRules: labelRulesOf(model.tasks),
  });
  let batches = 0;
  let samples = 0;
  const lossSums: Record<string, number> = {};
  const limit = options.numSteps && options.numSteps > 0 ? options.numSteps : Infinity;
  const lockstep = comm && comm.size > 1 && (options.sharded?.length ?? 0) > 0 ? comm : null;
  const step = (batch: Batch) => {
    tf.tidy(() => {
      const preds = model.predict(batch, { training: false });
      model.updateMetrics(preds, batch, keys.length > 0 ? groupsOf(batch, keys) : undefined);
      for (const [name, l] of Object.entries(model.loss(preds, batch)))
        lossSums[name] = (lossSums[name] ?? 0) + l.dataSync()[0] * batch.batchSize;
    });
    batches++;
    samples += batch.batchSize;
    options.onBatch?.(batches, samples);
  };
  try {
    if (lockstep) {
      const it = loader[Symbol.asyncIterator]();
      let done = false;
      for (;;) {
        const next = done || batches >= limit ? null : await it.next();
        if (next?.done) done = true;
        const batch = next && !next.done ? (next.value as Batch) : null;
        // Waiting for slower ranks is part of an evaluation, not a hang: no collective timeout.
        const any = BigInt64Array.from([batch ? 1n : 0n]);
        await withoutTimeout(lockstep, () => lockstep.allreduceInt(any, 'sum'));
        if (any[0] === 0n) break;
        for (const c of options.sharded!) await c.prepare(lockstep, batch ? sparseBatchOf(c, batch) : null);
        if (batch) step(batch);
      }
    } else
      for await (const batch of loader) {
        step(batch);
        if (batches >= limit) break;
      }
  } finally {
    await loader.close();
  }
  if (comm && comm.size > 1) {
    const merged = await mergeAcrossRanks(comm, setup, { batches, samples, lossSums });
    batches = merged.batches;
    samples = merged.samples;
    for (const k of Object.keys(lossSums)) delete lossSums[k];
    Object.assign(lossSums, merged.lossSums);
  }
  if (batches === 0)
    throw new Error(
      `Expected at least one eval batch from ${describeInput(options.inputPath ?? config.evalInputPath)} but the input was empty`,
    );
  // The losses' means over the eval rows come after the metrics (binary_cross_entropy is the logloss).
  const metrics = model.computeMetrics(true);
  for (const [name, sum] of Object.entries(lossSums)) if (!(name in metrics)) metrics[name] = sum / samples;
  return { metrics, batches, samples, seconds: (Date.now() - start) / 1000 };
}

/**
 * Every rank's metric states, loss sums and counts, merged in rank order into every rank's
 * metrics (each rank's own state included, so all ranks compute the same values).
 */
async function mergeAcrossRanks(
  comm: Communicator,
  setup: ModelSetup,
  mine: { batches: number; samples: number; lossSums: Record<string, number> },
): Promise<{ batches: number; samples: number; lossSums: Record<string, number> }> {
  const metrics = setup.model.tasks.flatMap((t) => t.metrics);
  const packed = packValue({ ...mine, states: metrics.map((m) => m.state()) });
  // Waiting here for slower ranks is part of an evaluation, not a hang: no collective timeout.
  const parts = await withoutTimeout(comm, () => allgatherBytes(comm, packed));
  const out = { batches: 0, samples: 0, lossSums: {} as Record<string, number> };
  for (const m of metrics) m.reset();
  for (const p of parts) {
    const v = unpackValue(p) as typeof mine & { states: unknown[] };
    out.batches += v.batches;
    out.samples += v.samples;
    for (const [k, x] of Object.entries(v.lossSums)) out.lossSums[k] = (out.lossSums[k] ?? 0) + x;
    v.states.forEach((s, i) => metrics[i].merge(s));
  }
  return out;
}

function describeInput(p: string | string[] | undefined): string {
  if (!p) return 'eval_input_path';
  return Array.isArray(p) ? p.join(',') : `'${p}'`;
}
