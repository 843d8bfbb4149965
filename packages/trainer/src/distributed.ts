/**
 * Synchronous data-parallel training over a communicator (issue 20, replicated placement): every
 * rank holds the whole model, reads its own part of the input (rows g ≡ rank mod W) and makes the
 * same update each step —
 * - dense gradients: one ordered allreduce of all of them (a fixed order of names; sum in rank
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
  type SparseBatch,
} from '@tsrec/native';
import * as tf from '@tensorflow/tfjs-core';

/** One training step's deferred sparse update of a replicated collection. */
interface PendingUpdate {
  batch: SparseBatch;
  grads: Float32Array[];
  lr: number;
}

/**
 * A collection every rank holds whole. `forward` is the local lookup; `backwardAndUpdate` (called
 * by the model's backward pass) only records the batch and a copy of dL/dpooled; `synchronize`
 * then applies the update of the global batch on every rank.
 */
export class ReplicatedCollection implements PooledEmbeddingCollection {
  private pending: PendingUpdate | null = null;

  constructor(readonly inner: EmbeddingCollection) {}

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
    // The gradients are the engine's (borrowed): copied, since the update runs after the backprop.
    const grads = (Array.isArray(gradPooled) ? gradPooled : [gradPooled]).map((g) => g.slice());
    this.pending = { batch, grads, lr };
  }

  /**
   * The sparse update of this step's global batch, on every rank: all-gathers each rank's batch
   * and gradients, concatenates them in rank order and runs the fused backward with the gradients
   * scaled by 1/W. Every rank must call it once per training step (a rank whose loss did not reach
   * this collection sends an empty part).
   */
  async synchronize(comm: Communicator): Promise<void> {
    const w = comm.size;
    const p = this.pending;
    this.pending = null;
    const F = this.inner.features.length;
    const dims = this.inner.pooledDims;
    const mine = p ? encodeBatch(p.batch, p.grads, F) : new Uint8Array(0);
    // Header: [bytes, batchSize, nnz, index width (4 or 8), has weights, lr bits] per rank.
    const header = new Float64Array(6);
    if (p) {
      header.set([
        mine.length,
        p.batch.batchSize,
        p.batch.indices.length,
        p.batch.indices.BYTES_PER_ELEMENT,
        p.batch.weights ? 1 : 0,
        p.lr,
      ]);
    }
    const headers = new Float64Array(6 * w);
    const hb = 48;
    await comm.allgatherv(
      bytesOf(header),
      bytesOf(headers),
      new Array(w).fill(hb),
      Array.from({ length: w }, (_, r) => r * hb),
    );
    const parts = Array.from({ length: w }, (_, r) => headers.subarray(6 * r, 6 * r + 6));
    const counts = parts.map((h) => h[0]);
    const displs = counts.map((_, r) => counts.slice(0, r).reduce((a, b) => a + b, 0));
    const all = new Uint8Array(counts.reduce((a, b) => a + b, 0));
    await comm.allgatherv(mine, all, counts, displs);
    const present = parts.map((h, r) => ({ h, r })).filter((x) => x.h[1] > 0);
    if (present.length === 0) return;
    const widths = new Set(present.map((x) => x.h[3]));
    const lrs = new Set(present.map((x) => x.h[5]));
    if (widths.size > 1 || lrs.size > 1)
      throw new Error(
        `Expected every rank to send int${[...widths][0] * 8} ids at one learning rate but received index widths ${[...widths].join(', ')} bytes and learning rates ${[...lrs].join(', ')}`,
      );
    const decoded = present.map(({ h, r }) =>
      decodeBatch(all.subarray(displs[r], displs[r] + counts[r]), h[1], h[2], h[3], h[4] === 1, F, dims),
    );
    const global = concatBatches(decoded, F, dims, 1 / w);
    this.inner.backwardAndUpdate(global.batch, global.grads, present[0].h[5]);
  }
}

/** A rank's batch and gradients as bytes: offsets (int32 or int64 as the ids), ids, weights, grads per output. */
function encodeBatch(b: SparseBatch, grads: Float32Array[], F: number): Uint8Array {
  const parts: Uint8Array[] = [bytesOf(b.offsets), bytesOf(b.indices)];
  if (b.weights) parts.push(bytesOf(b.weights));
  for (const g of grads) parts.push(bytesOf(g));
  if (b.offsets.length !== F * b.batchSize + 1)
    throw new Error(`Expected ${F * b.batchSize + 1} offsets (features × batch + 1) but received ${b.offsets.length}`);
  const out = new Uint8Array(parts.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

interface DecodedBatch {
  B: number;
  offsets: Int32Array | BigInt64Array;
  indices: Int32Array | BigInt64Array;
  weights: Float32Array | null;
  grads: Float32Array[];
}

function decodeBatch(
  bytes: Uint8Array,
  B: number,
  nnz: number,
  width: number,
  hasWeights: boolean,
  F: number,
  dims: readonly number[],
): DecodedBatch {
  // A copy aligned for the typed views (the gathered buffer packs ranks back to back).
  const buf = bytes.slice().buffer;
  const Ctor = width === 8 ? BigInt64Array : Int32Array;
  let at = 0;
  const take = <T>(make: (o: number) => T, bytesLen: number): T => {
    const v = make(at);
    at += bytesLen;
    return v;
  };
  const offsets = take((o) => new Ctor(buf, o, F * B + 1), (F * B + 1) * width);
  const indices = take((o) => new Ctor(buf, o, nnz), nnz * width);
  const weights = hasWeights ? take((o) => new Float32Array(buf, o, nnz), nnz * 4) : null;
  const grads = dims.map((d) => take((o) => new Float32Array(buf, o, B * d), B * d * 4));
  return { B, offsets, indices, weights, grads };
}

/**
 * The ranks' batches as one batch of ΣB samples in rank order (feature-major offsets, as the
 * collection expects) and their gradients, scaled.
 */
function concatBatches(
  parts: DecodedBatch[],
  F: number,
  dims: readonly number[],
  scale: number,
): { batch: SparseBatch; grads: Float32Array[] } {
  const B = parts.reduce((a, p) => a + p.B, 0);
  const nnz = parts.reduce((a, p) => a + p.indices.length, 0);
  const wide = parts[0].indices instanceof BigInt64Array;
  const indices = wide ? new BigInt64Array(nnz) : new Int32Array(nnz);
  const offsets = wide ? new BigInt64Array(F * B + 1) : new Int32Array(F * B + 1);
  const weights = parts[0].weights ? new Float32Array(nnz) : null;
  let k = 0; // ids written
  let bag = 0;
  for (let f = 0; f < F; f++)
    for (const p of parts) {
      const o = p.offsets;
      const from = Number(o[f * p.B]);
      const to = Number(o[(f + 1) * p.B]);
      for (let b = 0; b < p.B; b++) {
        const v = k + Number(o[f * p.B + b]) - from;
        if (wide) (offsets as BigInt64Array)[bag++] = BigInt(v);
        else (offsets as Int32Array)[bag++] = v;
      }
      if (wide) (indices as BigInt64Array).set((p.indices as BigInt64Array).subarray(from, to), k);
      else (indices as Int32Array).set((p.indices as Int32Array).subarray(from, to), k);
      if (weights && p.weights) weights.set(p.weights.subarray(from, to), k);
      k += to - from;
    }
  if (wide) (offsets as BigInt64Array)[bag] = BigInt(k);
  else (offsets as Int32Array)[bag] = k;
  const grads = dims.map((d, o) => {
    const g = new Float32Array(B * d);
    let at = 0;
    for (const p of parts) {
      const src = p.grads[o];
      // Math.fround(x * scale) is the float32 product; with W a power of two it is exact.
      for (let i = 0; i < src.length; i++) g[at + i] = Math.fround(src[i] * scale);
      at += src.length;
    }
    return g;
  });
  return { batch: { indices, offsets, weights, batchSize: B }, grads };
}

/**
 * Averages dense gradients over the ranks in place of `grads` (new tensors; the old are
 * disposed): one ordered allreduce of every gradient (by name, sorted) plus `extra` numbers
 * (summed, returned), scaled by 1/W.
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
  await comm.allreduce(buf, 'sum');
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

/** A fingerprint of the dense variables and, with `tables`, of every viewable table and its state. */
export function replicaFingerprint(
  variables: Array<[string, tf.Variable]>,
  collections: readonly EmbeddingCollection[],
  tables: boolean,
): bigint {
  let h = 0n;
  const mix = (bytes: Uint8Array) => {
    h = fingerprint64(bytes) ^ (((h << 7n) | (h >> 57n)) & 0xffffffffffffffffn);
  };
  for (const [, v] of variables) mix(bytesOf(v.dataSync() as Float32Array));
  if (tables)
    for (const c of collections) for (const t of c.tables) if (c.viewable(t.name)) mix(bytesOf(c.view(t.name)));
  return h;
}

/**
 * Throws unless every rank has the same fingerprint (replicas must stay bit-identical; a
 * difference is a bug, never a warning).
 */
export async function checkReplicas(comm: Communicator, fingerprint: bigint, where: string): Promise<void> {
  const v = BigInt.asIntN(64, fingerprint);
  const mm = BigInt64Array.from([v, -v]);
  await comm.allreduceInt(mm, 'max');
  if (mm[0] !== v || -mm[1] !== v)
    throw new Error(
      `Expected identical replicas on every rank ${where} but rank ${comm.rank}'s weights fingerprint ${BigInt.asUintN(64, v).toString(16)} differs from another rank's (max ${BigInt.asUintN(64, mm[0]).toString(16)}, min ${BigInt.asUintN(64, -mm[1]).toString(16)}): the ranks diverged (a bug in tsrec — please report it)`,
    );
}
