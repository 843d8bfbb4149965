/**
 * Synchronous data-parallel training over a communicator (issue 20, replicated placement): every
 * rank holds the whole model, reads its own part of the input (rows g ≡ rank mod W) and makes the
 * same update each step —
 * - dense gradients: ordered allreduces in fixed buckets (a fixed order of names; sums in rank
 *   order) scaled by 1/W, so every replica applies the same bits;
 * - embedding tables: the sparse update needs the ids, so each rank's batch and dL/dpooled are
 *   all-gathered and every rank runs the fused backward + optimizer on the global batch (the ranks'
 *   batches concatenated in rank order, gradients × 1/W): Horovod's sparse-as-allgather, with the
 *   update applied where the rows live — here, everywhere;
 * - non-trainable variables (batch-norm statistics) are broadcast from rank 0 after each step, as
 *   DDP's broadcast_buffers.
 * With W = 1 (a single process) nothing here runs: the trainer keeps today's path and bits.
 */
import type { PooledEmbeddingCollection } from '@tsrec/models';
import {
  bytesOf,
  type Communicator,
  type EmbeddingCollection,
  type ForwardResult,
  fingerprint64,
  OPTIMIZER_STATES,
  type SparseBatch,
} from '@tsrec/native';
import * as tf from '@tensorflow/tfjs-core';

import { tableData } from './checkpoint';

/** One training step's deferred sparse update of a replicated collection. */
interface PendingUpdate {
  batch: SparseBatch;
  lr: number;
}

/** A typed array's bytes as a Uint8Array of `n` bytes from a buffer that grows (never shrinks) as needed. */
export class Grower {
  private buf = new ArrayBuffer(0);
  bytes(n: number): ArrayBuffer {
    if (this.buf.byteLength < n) this.buf = new ArrayBuffer(Math.max(n, Math.ceil(this.buf.byteLength * 1.25)));
    return this.buf;
  }
  /** n floats (or ints) at the start of the buffer. */
  floats(n: number): Float32Array {
    return new Float32Array(this.bytes(n * 4), 0, n);
  }
  ints(n: number): Int32Array {
    return new Int32Array(this.bytes(n * 4), 0, n);
  }
}

/**
 * A collection every rank holds whole. `forward` is the local lookup; `backwardAndUpdate` (called
 * by the model's backward pass) only records the batch and dL/dpooled × 1/W; `synchronize` then
 * applies the update of the global batch on every rank. Buffers persist across steps (no fresh
 * tens of megabytes per step for the allocator and the garbage collector).
 */
export class ReplicatedCollection implements PooledEmbeddingCollection {
  private pending: PendingUpdate | null = null;
  private readonly sendGrads: Grower[];
  private readonly globalGrads: Grower[];
  private readonly send = new Grower();
  private readonly recv = new Grower();
  private readonly globalOffsets = new Grower();
  private readonly globalIds = new Grower();

  constructor(
    readonly inner: EmbeddingCollection,
    private readonly worldSize: number,
  ) {
    this.sendGrads = inner.pooledDims.map(() => new Grower());
    this.globalGrads = inner.pooledDims.map(() => new Grower());
  }

  get pooledDim(): number {
    return this.inner.pooledDim;
  }
  get pooledDims(): readonly number[] {
    return this.inner.pooledDims;
  }
  get features(): PooledEmbeddingCollection['features'] {
    return this.inner.features;
  }
  get tables(): PooledEmbeddingCollection['tables'] {
    return this.inner.tables;
  }

  forward(batch: SparseBatch, out?: { pooled?: Float32Array; outputs?: Float32Array[] }): ForwardResult {
    return this.inner.forward(batch, out);
  }

  backwardAndUpdate(batch: SparseBatch, gradPooled: Float32Array | Float32Array[], lr: number): void {
    if (this.pending)
      throw new Error('Expected one backward per training step but received a second before the ranks synchronized');
    // The gradients are the engine's (borrowed): copied × 1/W (what each rank contributes to the
    // global batch's mean), since the update runs after the backprop. The float32 store rounds the
    // product once (Math.fround's result); exact when W is a power of two.
    const scale = 1 / this.worldSize;
    const all = Array.isArray(gradPooled) ? gradPooled : [gradPooled];
    const dims = this.inner.pooledDims;
    if (all.length !== dims.length)
      throw new Error(`Expected ${dims.length} dL/dpooled arrays (one per pooled output) but received ${all.length}`);
    all.forEach((g, o) => {
      if (g.length !== batch.batchSize * dims[o])
        throw new Error(`Expected dL/dpooled[${o}] of ${batch.batchSize} × ${dims[o]} floats but received ${g.length}`);
    });
    all.forEach((g, o) => {
      const dst = new Float32Array(this.sendGrads[o].bytes(g.length * 4), 0, g.length);
      for (let i = 0; i < g.length; i++) dst[i] = g[i] * scale;
    });
    this.pending = { batch, lr };
  }

  /**
   * The sparse update of this step's global batch, on every rank: all-gathers each rank's ids and
   * offsets (one collective) and its scaled dL/dpooled (one per pooled output, straight into the
   * global gradient in rank order), lays the ids out feature-major for the ranks' batches
   * concatenated in rank order, and runs the fused backward. Every rank must call it once per
   * training step (a rank whose loss did not reach this collection sends an empty part).
   * `queued`, when given, runs once this collection's collectives are queued (every rank at the
   * same point, so collectives it queues keep one order across ranks).
   */
  async synchronize(comm: Communicator, phases?: Record<string, number>, queued?: () => void): Promise<void> {
    const add = phaseTimer(phases);
    const w = comm.size;
    const p = this.pending;
    this.pending = null;
    const F = this.inner.features.length;
    const dims = this.inner.pooledDims;
    // Header per rank: [batchSize, nnz, index width (4 or 8), has weights, lr].
    const header = new Float64Array(6);
    if (p) {
      const b = p.batch;
      if (b.offsets.length !== F * b.batchSize + 1)
        throw new Error(
          `Expected ${F * b.batchSize + 1} offsets (features × batch + 1) but received ${b.offsets.length}`,
        );
      header.set([b.batchSize, b.indices.length, b.indices.BYTES_PER_ELEMENT, b.weights ? 1 : 0, p.lr]);
    }
    const headers = new Float64Array(6 * w);
    const rankBytes = new Array(w).fill(48);
    await comm.allgatherv(bytesOf(header), bytesOf(headers), rankBytes, prefixSums(rankBytes));
    const h = Array.from({ length: w }, (_, r) => headers.subarray(6 * r, 6 * r + 6));
    const present = h.map((x, r) => ({ x, r })).filter((e) => e.x[0] > 0);
    if (present.length === 0) {
      add('sparse_gather');
      queued?.();
      return;
    }
    const width = present[0].x[2];
    const hasWeights = present[0].x[3] === 1;
    const lr = present[0].x[4];
    if (present.some((e) => e.x[2] !== width || e.x[3] !== present[0].x[3] || e.x[4] !== lr))
      throw new Error(
        `Expected every rank to send ids of one width, weights or not alike, at one learning rate but received ${present.map((e) => `rank ${e.r}: int${e.x[2] * 8}, weights ${e.x[3] === 1}, lr ${e.x[4]}`).join('; ')}`,
      );
    // Ids part per rank: [offsets (F·B+1)·width | ids nnz·width | weights nnz·4].
    const partBytes = h.map((x) => (x[0] > 0 ? (F * x[0] + 1 + x[1]) * width + (hasWeights ? x[1] * 4 : 0) : 0));
    const partDispls = prefixSums(partBytes);
    const mine = new Uint8Array(this.send.bytes(partBytes[comm.rank]), 0, partBytes[comm.rank]);
    if (p) {
      const b = p.batch;
      mine.set(bytesOf(b.offsets), 0);
      mine.set(bytesOf(b.indices), b.offsets.byteLength);
      if (b.weights) mine.set(bytesOf(b.weights), b.offsets.byteLength + b.indices.byteLength);
    }
    const total = partDispls[w - 1] + partBytes[w - 1];
    const all = new Uint8Array(this.recv.bytes(total), 0, total);
    const gathers = [comm.allgatherv(mine, all, partBytes, partDispls)];
    const B = h.reduce((a, x) => a + x[0], 0);
    const grads: Float32Array[] = [];
    for (const [o, d] of dims.entries()) {
      const counts = h.map((x) => x[0] * d * 4);
      const g = new Float32Array(this.globalGrads[o].bytes(B * d * 4), 0, B * d);
      const send = p ? new Uint8Array(this.sendGrads[o].bytes(0), 0, counts[comm.rank]) : new Uint8Array(0);
      gathers.push(comm.allgatherv(send, bytesOf(g), counts, prefixSums(counts)));
      grads.push(g);
    }
    // Whatever the caller queues now (the dense allreduce) moves while this rank merges and updates.
    queued?.();
    await Promise.all(gathers);
    add('sparse_gather');
    const batch = this.globalBatch(all, h, partDispls, F, B, width, hasWeights);
    add('sparse_merge');
    this.inner.backwardAndUpdate(batch, grads, lr);
    add('sparse_update');
  }

  /** The ranks' batches as one batch of ΣB samples in rank order, feature-major (the collection's layout). */
  private globalBatch(
    all: Uint8Array,
    h: Float64Array[],
    displs: number[],
    F: number,
    B: number,
    width: number,
    hasWeights: boolean,
  ): SparseBatch {
    // Offsets are below 2^31 whatever the id width: read and written as int32 (the low word of an
    // int64 on little-endian machines, the high words staying 0), so no BigInt is made.
    const step = width / 4;
    const parts = h
      .map((x, r) => ({ B: x[0], nnz: x[1], at: displs[r] }))
      .filter((x) => x.B > 0)
      .map((x) => ({
        B: x.B,
        offs: new Int32Array(all.buffer, all.byteOffset + x.at, (F * x.B + 1) * step),
        ids: new Uint8Array(all.buffer, all.byteOffset + x.at + (F * x.B + 1) * width, x.nnz * width),
        weights: hasWeights
          ? new Float32Array(all.buffer, all.byteOffset + x.at + (F * x.B + 1 + x.nnz) * width, x.nnz)
          : null,
      }));
    const nnz = parts.reduce((a, x) => a + x.ids.length / width, 0);
    const offsBuf = this.globalOffsets.bytes((F * B + 1) * width);
    new Uint8Array(offsBuf, 0, (F * B + 1) * width).fill(0);
    const offs = new Int32Array(offsBuf, 0, (F * B + 1) * step);
    const ids = new Uint8Array(this.globalIds.bytes(nnz * width), 0, nnz * width);
    const weights = hasWeights ? new Float32Array(nnz) : null;
    let k = 0; // ids written
    let bag = 0;
    for (let f = 0; f < F; f++)
      for (const q of parts) {
        const base = f * q.B;
        const from = q.offs[base * step];
        const to = q.offs[(base + q.B) * step];
        const shift = k - from;
        for (let b = 0; b < q.B; b++) offs[(bag + b) * step] = q.offs[(base + b) * step] + shift;
        bag += q.B;
        ids.set(q.ids.subarray(from * width, to * width), k * width);
        if (weights && q.weights) weights.set(q.weights.subarray(from, to), k);
        k += to - from;
      }
    offs[bag * step] = k;
    const offsets = width === 8 ? new BigInt64Array(offsBuf, 0, F * B + 1) : new Int32Array(offsBuf, 0, F * B + 1);
    const indices = width === 8 ? new BigInt64Array(ids.buffer, 0, nnz) : new Int32Array(ids.buffer, 0, nnz);
    return { indices, offsets, weights, batchSize: B };
  }
}

/** Where each of `counts` starts when they are laid out one after another (displacements). */
export function prefixSums(counts: readonly number[]): number[] {
  const out = new Array(counts.length).fill(0);
  for (let i = 1; i < counts.length; i++) out[i] = out[i - 1] + counts[i - 1];
  return out;
}

/** A lap timer: each call adds the seconds since the previous one (or since now) to `phases[name]`. */
export function phaseTimer(phases?: Record<string, number>): (name: string) => void {
  let t = performance.now();
  return (name) => {
    const now = performance.now();
    if (phases) phases[name] = (phases[name] ?? 0) + (now - t) / 1000;
    t = now;
  };
}

/**
 * Averages dense gradients over the ranks in place of `grads` (new tensors; the old are
 * disposed): ordered allreduces of every gradient (by name, sorted) plus `extra` numbers (summed,
 * returned), in fixed buckets, scaled by 1/W.
 */
export async function allreduceGradients(
  comm: Communicator,
  grads: Record<string, tf.Tensor>,
  extra: number[],
): Promise<{ grads: Record<string, tf.Tensor>; extra: number[] }> {
  const names = Object.keys(grads).sort();
  const sizes = names.map((n) => grads[n].size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const buf = new Float32Array(total + extra.length);
  let at = 0;
  for (const [i, n] of names.entries()) {
    buf.set(grads[n].dataSync() as Float32Array, at);
    at += sizes[i];
  }
  buf.set(extra, total);
  // Fixed buckets (TSREC_DIST_BUCKET_MB, default 32 MiB), queued in order: a sum is element-wise,
  // so the bits do not depend on the bucket size; MPI's counts stay far below 2^31.
  const bucket = bucketFloats();
  const parts: Promise<void>[] = [];
  for (let at = 0; at < buf.length; at += bucket)
    parts.push(comm.allreduce(buf.subarray(at, Math.min(buf.length, at + bucket)), 'sum'));
  await Promise.all(parts);
  const inv = 1 / comm.size;
  const out: Record<string, tf.Tensor> = {};
  at = 0;
  for (const [i, n] of names.entries()) {
    const g = new Float32Array(sizes[i]);
    for (let j = 0; j < g.length; j++) g[j] = Math.fround(buf[at + j] * inv);
    out[n] = tf.tensor(g, grads[n].shape, 'float32');
    grads[n].dispose();
    at += sizes[i];
  }
  return { grads: out, extra: Array.from(buf.subarray(total)) };
}

/** Floats per dense-gradient allreduce bucket (TSREC_DIST_BUCKET_MB, default 32). */
export function bucketFloats(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.TSREC_DIST_BUCKET_MB;
  const mb = v === undefined || v === '' ? 32 : Number(v);
  if (!Number.isFinite(mb) || mb <= 0 || mb > 4096)
    throw new RangeError(`Expected TSREC_DIST_BUCKET_MB in (0, 4096] but received '${v}'`);
  return Math.max(1, Math.floor((mb * 2 ** 20) / 4));
}

/** Runs `fn` with the communicator's collective timeout off (a wait that may legitimately be long), then restores it. */
export async function withoutTimeout<T>(comm: Communicator, fn: () => Promise<T>): Promise<T> {
  const before = comm.timeoutSeconds();
  comm.setTimeoutSeconds(0);
  try {
    return await fn();
  } finally {
    comm.setTimeoutSeconds(before);
  }
}

/** Rank 0's values of `vars` on every rank (batch-norm statistics after a step). */
export async function broadcastVariables(comm: Communicator, vars: tf.Variable[]): Promise<void> {
  if (vars.length === 0) return;
  const total = vars.reduce((a, v) => a + v.size, 0);
  const buf = new Float32Array(total);
  let at = 0;
  for (const v of vars) {
    buf.set(v.dataSync() as Float32Array, at);
    at += v.size;
  }
  await comm.broadcast(bytesOf(buf), 0);
  if (comm.rank === 0) return;
  at = 0;
  tf.tidy(() => {
    for (const v of vars) {
      v.assign(tf.tensor(buf.slice(at, at + v.size), v.shape, 'float32'));
      at += v.size;
    }
  });
}

/**
 * A fingerprint of the dense variables and of `tables` (each with its optimizer state): what must
 * be equal on every rank — the dense model and the tables every rank holds.
 */
export function replicaFingerprint(
  variables: Array<[string, tf.Variable]>,
  tables: readonly { collection: EmbeddingCollection; name: string }[],
): bigint {
  let h = 0n;
  const mix = (bytes: Uint8Array) => {
    h = fingerprint64(bytes) ^ (((h << 7n) | (h >> 57n)) & 0xffffffffffffffffn);
  };
  for (const [, v] of variables) mix(bytesOf(v.dataSync() as Float32Array));
  // The bytes a checkpoint writes: weights, then each optimizer state.
  for (const { collection: c, name } of tables) {
    const t = c.tables.find((x) => x.name === name);
    if (!t)
      throw new Error(
        `Expected table '${name}' in the collection but it holds ${c.tables.map((x) => x.name).join(', ')}`,
      );
    for (const s of [{ name: undefined, perRow: false }, ...OPTIMIZER_STATES[c.optimizer.type]]) {
      const data = tableData(c, t.name, t.rows, s.perRow ? 1 : t.dim, s.name);
      if (ArrayBuffer.isView(data)) mix(bytesOf(data));
      else for (const block of data.chunks()) mix(bytesOf(block));
    }
  }
  return h;
}

/**
 * Every rank's 64-bit `value`, all-gathered; null when all agree, else which ranks hold which
 * value (`rank 0, 1: 3fa…; rank 2: 91c…`) — the same answer on every rank, so all fail together.
 */
export async function disagreement(comm: Communicator, value: bigint): Promise<string | null> {
  const mine = BigInt64Array.from([BigInt.asIntN(64, value)]);
  const all = new BigInt64Array(comm.size);
  const counts = new Array(comm.size).fill(8);
  await comm.allgatherv(
    bytesOf(mine),
    bytesOf(all),
    counts,
    counts.map((_, r) => r * 8),
  );
  if (all.every((x) => x === all[0])) return null;
  const groups = new Map<bigint, number[]>();
  all.forEach((x, r) => groups.set(x, [...(groups.get(x) ?? []), r]));
  return [...groups]
    .map(
      ([x, ranks]) => `rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')}: ${BigInt.asUintN(64, x).toString(16)}`,
    )
    .join('; ');
}

/**
 * Throws unless every rank has the same fingerprint (replicas must stay bit-identical; a
 * difference is a bug, never a warning).
 */
export async function checkReplicas(comm: Communicator, fingerprint: bigint, where: string): Promise<void> {
  const d = await disagreement(comm, fingerprint);
  if (d)
    throw new Error(
      `Expected identical replicas on every rank ${where} but the weights fingerprints differ (${d}): the ranks diverged (a bug in tsrec — please report it)`,
    );
}

const TYPED: Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView & { length: number }> = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
  BigInt64Array: BigInt64Array as never,
  BigUint64Array: BigUint64Array as never,
};

/**
 * A plain value (numbers, strings, bigints, null, arrays, objects, typed arrays: what metrics'
 * `state()` return) as bytes: [u32 JSON length][JSON][typed arrays' bytes, 8-aligned].
 */
export function packValue(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  let at = 0;
  const json = JSON.stringify(value, function (this: unknown, _k, v) {
    if (typeof v === 'bigint') return { $big: v.toString() };
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = v.constructor.name;
      if (!TYPED[name]) throw new TypeError(`Expected a typed array in a metric state but received ${name}`);
      const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const ref = { $ta: name, at, n: (v as unknown as { length: number }).length };
      blobs.push(b);
      at += Math.ceil(b.length / 8) * 8;
      return ref;
    }
    return v;
  });
  const head = new TextEncoder().encode(json);
  const start = Math.ceil((4 + head.length) / 8) * 8;
  const out = new Uint8Array(start + at);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let o = start;
  for (const b of blobs) {
    out.set(b, o);
    o += Math.ceil(b.length / 8) * 8;
  }
  return out;
}

/** The value of `packValue`'s bytes. */
export function unpackValue(bytes: Uint8Array): unknown {
  const copy = bytes.slice(); // aligned for the typed views
  const n = new DataView(copy.buffer).getUint32(0, true);
  const start = Math.ceil((4 + n) / 8) * 8;
  const json = new TextDecoder().decode(copy.subarray(4, 4 + n));
  return JSON.parse(json, (_k, v) => {
    if (v && typeof v === 'object' && typeof v.$big === 'string') return BigInt(v.$big);
    if (v && typeof v === 'object' && typeof v.$ta === 'string') {
      const C = TYPED[v.$ta];
      if (!C) throw new TypeError(`Unknown typed array ${v.$ta} in a packed value`);
      return new C(copy.buffer, start + v.at, v.n);
    }
    return v;
  });
}

/** Every rank's bytes, in rank order (one all-gather of the sizes, one of the bytes). */
export async function allgatherBytes(comm: Communicator, mine: Uint8Array): Promise<Uint8Array[]> {
  const sizes = new Float64Array(comm.size);
  const eight = new Array(comm.size).fill(8);
  await comm.allgatherv(bytesOf(Float64Array.of(mine.length)), bytesOf(sizes), eight, prefixSums(eight));
  const counts = Array.from(sizes);
  const displs = prefixSums(counts);
  const all = new Uint8Array(counts.reduce((a, b) => a + b, 0));
  await comm.allgatherv(mine, all, counts, displs);
  return counts.map((c, r) => all.subarray(displs[r], displs[r] + c));
}
