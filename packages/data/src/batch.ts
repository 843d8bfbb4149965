import { KeyedJaggedBatch, type KeyedJaggedBatchMessage } from './keyed_jagged_batch';

/** A jagged block of dense sequence values: element i of row r is values[(offset(r) + i) * dim ..]. */
export interface SequenceDense {
  dim: number;
  values: Float32Array;
  lengths: Int32Array;
}

/**
 * One finished batch, as the trainer consumes it:
 * - `sparse`: every sparse feature's ids (see KeyedJaggedBatch for the layout), keys in
 *   feature-config order; `sparse.select(keys)` gives one embedding collection's share;
 * - `dense`: [batchSize, Σ denseDims] row-major, features side by side in `denseKeys` order;
 * - `sequenceDense`: sequence raw features (jagged numbers);
 * - `labels`: one Float32Array [batchSize] per label field; `sampleWeights` one per sample weight
 *   field (data_config.sample_weight_fields; TorchEasyRec's models read the first, task towers
 *   their sample_weight_name);
 * - `reserved`: raw text of reserved columns (predict output), per column.
 * All arrays are fresh (never reused), so they can be transferred between threads.
 */
export interface Batch {
  batchSize: number;
  sparse: KeyedJaggedBatch;
  dense: Float32Array;
  denseKeys: string[];
  denseDims: number[];
  sequenceDense: Record<string, SequenceDense>;
  labels: Record<string, Float32Array>;
  sampleWeights: Record<string, Float32Array>;
  reserved: Record<string, string[]>;
}

/** The rows `rows` (in that order) of a batch, copied. */
export function takeRows(b: Batch, rows: ArrayLike<number>): Batch {
  const n = rows.length;
  const B = b.batchSize;
  const kj = b.sparse;
  const F = kj.keys.length;
  const lengths = new Int32Array(F * n);
  let nnz = 0;
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < n; i++) {
      const k = f * B + rows[i];
      const l = kj.offsets[k + 1] - kj.offsets[k];
      lengths[f * n + i] = l;
      nnz += l;
    }
  }
  const values = new Int32Array(nnz);
  const weights = kj.weights ? new Float32Array(nnz) : null;
  let at = 0;
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < n; i++) {
      const k = f * B + rows[i];
      const s = kj.offsets[k],
        e = kj.offsets[k + 1];
      values.set(kj.values.subarray(s, e), at);
      if (weights) weights.set(kj.weights!.subarray(s, e), at);
      at += e - s;
    }
  }
  const width = b.denseDims.reduce((s, d) => s + d, 0);
  const dense = new Float32Array(n * width);
  for (let i = 0; i < n; i++) dense.set(b.dense.subarray(rows[i] * width, rows[i] * width + width), i * width);
  const sequenceDense: Record<string, SequenceDense> = {};
  for (const [k, sd] of Object.entries(b.sequenceDense)) sequenceDense[k] = takeSequence(sd, rows);
  const labels: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(b.labels)) labels[k] = gather(v, rows);
  const reserved: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(b.reserved)) reserved[k] = Array.from(rows, (r) => v[r]);
  return {
    batchSize: n,
    sparse: KeyedJaggedBatch.fromLengths({ keys: kj.keys, batchSize: n, values, lengths, weights }),
    dense,
    denseKeys: b.denseKeys,
    denseDims: b.denseDims,
    sequenceDense,
    labels,
    sampleWeights: Object.fromEntries(Object.entries(b.sampleWeights).map(([k, v]) => [k, gather(v, rows)])),
    reserved,
  };
}

function gather(v: Float32Array, rows: ArrayLike<number>): Float32Array {
  const o = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) o[i] = v[rows[i]];
  return o;
}

function takeSequence(sd: SequenceDense, rows: ArrayLike<number>): SequenceDense {
  const off = new Int32Array(sd.lengths.length + 1);
  for (let r = 0; r < sd.lengths.length; r++) off[r + 1] = off[r] + sd.lengths[r];
  const lengths = new Int32Array(rows.length);
  let total = 0;
  for (let i = 0; i < rows.length; i++) total += lengths[i] = sd.lengths[rows[i]];
  const values = new Float32Array(total * sd.dim);
  let at = 0;
  for (let i = 0; i < rows.length; i++) {
    const s = off[rows[i]] * sd.dim,
      e = off[rows[i] + 1] * sd.dim;
    values.set(sd.values.subarray(s, e), at);
    at += e - s;
  }
  return { dim: sd.dim, values, lengths };
}

/** Rows [start, end) of a batch. */
export function sliceBatch(b: Batch, start: number, end: number): Batch {
  const rows = new Int32Array(end - start);
  for (let i = 0; i < rows.length; i++) rows[i] = start + i;
  return takeRows(b, rows);
}

/** Batches with the same features, one after the other. */
export function concatBatches(parts: Batch[]): Batch {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  const n = parts.reduce((s, p) => s + p.batchSize, 0);
  const keys = first.sparse.keys;
  const F = keys.length;
  const lengths = new Int32Array(F * n);
  const nnz = parts.reduce((s, p) => s + p.sparse.values.length, 0);
  const values = new Int32Array(nnz);
  const weights = first.sparse.weights ? new Float32Array(nnz) : null;
  let at = 0;
  for (let f = 0; f < F; f++) {
    let row = 0;
    for (const p of parts) {
      const B = p.batchSize;
      const s = p.sparse.offsets[f * B],
        e = p.sparse.offsets[f * B + B];
      values.set(p.sparse.values.subarray(s, e), at);
      if (weights) weights.set(p.sparse.weights!.subarray(s, e), at);
      at += e - s;
      for (let b = 0; b < B; b++)
        lengths[f * n + row + b] = p.sparse.offsets[f * B + b + 1] - p.sparse.offsets[f * B + b];
      row += B;
    }
  }
  const cat = (arrs: Float32Array[]) => {
    const o = new Float32Array(arrs.reduce((s, a) => s + a.length, 0));
    let k = 0;
    for (const a of arrs) {
      o.set(a, k);
      k += a.length;
    }
    return o;
  };
  const sequenceDense: Record<string, SequenceDense> = {};
  for (const k of Object.keys(first.sequenceDense)) {
    const l = new Int32Array(n);
    let r = 0;
    for (const p of parts) {
      l.set(p.sequenceDense[k].lengths, r);
      r += p.batchSize;
    }
    sequenceDense[k] = {
      dim: first.sequenceDense[k].dim,
      values: cat(parts.map((p) => p.sequenceDense[k].values)),
      lengths: l,
    };
  }
  const labels: Record<string, Float32Array> = {};
  for (const k of Object.keys(first.labels)) labels[k] = cat(parts.map((p) => p.labels[k]));
  const reserved: Record<string, string[]> = {};
  for (const k of Object.keys(first.reserved)) reserved[k] = parts.flatMap((p) => p.reserved[k]);
  return {
    batchSize: n,
    sparse: KeyedJaggedBatch.fromLengths({ keys, batchSize: n, values, lengths, weights }),
    dense: cat(parts.map((p) => p.dense)),
    denseKeys: first.denseKeys,
    denseDims: first.denseDims,
    sequenceDense,
    labels,
    sampleWeights: Object.fromEntries(
      Object.keys(first.sampleWeights).map((k) => [k, cat(parts.map((p) => p.sampleWeights[k]))]),
    ),
    reserved,
  };
}

/** The ArrayBuffers of a batch, for postMessage's transfer list (moved, not copied). */
export function transferList(b: Batch): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView | null) => {
    if (a && a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength)
      set.add(a.buffer);
  };
  add(b.sparse.values);
  add(b.sparse.offsets);
  add(b.sparse.weights);
  add(b.dense);
  for (const v of Object.values(b.sampleWeights)) add(v);
  for (const v of Object.values(b.labels)) add(v);
  for (const v of Object.values(b.sequenceDense)) {
    add(v.values);
    add(v.lengths);
  }
  return [...set];
}

/** A batch as posted to another thread: the sparse part as plain arrays (KeyedJaggedBatch.toMessage). */
export function packBatch(b: Batch): Batch {
  return { ...b, sparse: b.sparse.toMessage() as unknown as KeyedJaggedBatch };
}

/** Rebuilds a batch received through postMessage (made by packBatch in the sending thread). */
export function reviveBatch(o: Batch): Batch {
  return { ...o, sparse: KeyedJaggedBatch.revive(o.sparse as unknown as KeyedJaggedBatchMessage) };
}
