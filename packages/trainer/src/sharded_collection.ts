/**
 * An embedding collection whose tables are spread over the ranks (issue 20): each table-wise table
 * lives on one rank, data-parallel tables on every rank (sharding_plan.ts decides). Models see the
 * whole collection's layout (features, pooled columns) and call `forward` / `backwardAndUpdate`
 * as on any collection; the trainer awaits `prepare(batch)` before the model's forward and
 * `synchronize(comm)` after its backward, which move the data (TorchRec's input and output dists):
 *
 * prepare — every rank sends each rank q the bags of the features q holds (its table-wise features
 *   and the data-parallel ones) for its own samples: an all-to-all of a small header, then one of
 *   lengths, ids and weights. Rank q pools the global batch (the ranks' samples in rank order; a
 *   data-parallel feature only over q's own samples) with its local collection, and sends each rank
 *   the pooled columns of q's table-wise features for that rank's samples: one all-to-all.
 * synchronize — every rank sends each rank q dL/dpooled × 1/W of q's table-wise columns and of the
 *   data-parallel columns, for its own samples (one all-to-all); q runs the fused backward and
 *   sparse optimizer of its local tables on the global batch.
 *
 * A table is therefore updated once per step, by the rank(s) holding it, from the global batch in
 * rank order — the update the replicated collection (distributed.ts) applies everywhere, so both
 * placements give the same bits. A rank holding no table of the collection only sends and receives.
 */
import type { ModelBatch, PooledEmbeddingCollection } from '@tsrec/models';
import {
  type Communicator,
  collectionLayout,
  type EmbeddingCollection,
  type ForwardResult,
  type SparseBatch,
} from '@tsrec/native';

/** Columns [at, at + width) of pooled output `output`, and where they are in this rank's local output (-1: not here). */
interface Run {
  output: number;
  at: number;
  width: number;
  local: number;
}

/** The batch of the step in flight: this rank's part, and what its local collection pooled. */
interface Prepared {
  batchSize: number;
  nnz: number;
  /** Samples of each rank (they are the global batch in rank order). */
  counts: number[];
  starts: number[];
  outputs: Float32Array[];
  /** The global batch of the local features (all ranks' bags), for the backward. */
  global: SparseBatch | null;
}

/** A Uint8Array of at least `n` bytes from a buffer that grows as needed. */
class Grower {
  private buf = new ArrayBuffer(64);
  bytes(n: number): ArrayBuffer {
    if (this.buf.byteLength < n) this.buf = new ArrayBuffer(Math.max(n, Math.ceil(this.buf.byteLength * 1.25)));
    return this.buf;
  }
  floats(n: number): Float32Array {
    return new Float32Array(this.bytes(n * 4), 0, n);
  }
  ints(n: number): Int32Array {
    return new Int32Array(this.bytes(n * 4), 0, n);
  }
}

/** Where a collection's tables live: the owning rank of each table-wise table, 'all' for data-parallel ones. */
export type TableOwners = ReadonlyMap<string, number | 'all'>;

export class ShardedCollection implements PooledEmbeddingCollection {
  readonly pooledDim: number;
  readonly pooledDims: readonly number[];
  readonly features: PooledEmbeddingCollection['features'];
  readonly tables: PooledEmbeddingCollection['tables'];
  private readonly W: number;
  private readonly rank: number;
  /** Per rank: the features (indices in `features`) whose tables it holds, in feature order. */
  private readonly held: number[][];
  /** Per feature: whether its tables are data-parallel. */
  private readonly dataParallel: boolean[];
  /** Per rank q, per output: q's table-wise columns (forward), and those plus the data-parallel ones (backward). */
  private readonly fwdRuns: Run[][][];
  private readonly bwdRuns: Run[][][];
  private readonly dpRuns: Run[][];
  private prepared: Prepared | null = null;
  private pending: { grads: Float32Array[]; lr: number } | null = null;
  private readonly buf = {
    header: new Grower(),
    headerIn: new Grower(),
    send: new Grower(),
    recv: new Grower(),
    offsets: new Grower(),
    ids: new Grower(),
    weights: new Grower(),
    fwdOffsets: new Grower(),
    fwdIds: new Grower(),
    fwdWeights: new Grower(),
    local: [] as Grower[],
    outputs: [] as Grower[],
    grads: [] as Grower[],
    globalGrads: [] as Grower[],
  };

  /**
   * `spec`: the whole collection (what the model asked for); `local`: the tables of it this rank
   * holds (its table-wise tables and the data-parallel ones, features in spec order), or null;
   * `owners`: every table's place.
   */
  constructor(
    spec: {
      tables: { name: string; rows: number; dim: number; coLocateWith?: string; output?: number }[];
      features: { name: string; table: string; pooling: string }[];
    },
    readonly local: EmbeddingCollection | null,
    owners: TableOwners,
    comm: Pick<Communicator, 'rank' | 'size'>,
  ) {
    const layout = collectionLayout({
      tables: spec.tables.map((t) => ({
        name: t.name,
        rows: t.rows,
        dim: t.dim,
        coLocateWith: t.coLocateWith,
        output: t.output,
      })),
      features: spec.features.map((f) => ({ name: f.name, table: f.table, pooling: f.pooling as 'sum' | 'mean' })),
    });
    this.W = comm.size;
    this.rank = comm.rank;
    this.tables = layout.tables;
    this.features = layout.features;
    this.pooledDims = layout.pooledDims;
    this.pooledDim = layout.pooledDims[0];
    const O = this.pooledDims.length;
    const ownerOf = (f: number): number | 'all' => {
      const name = layout.tables[layout.features[f].table].name;
      const o = owners.get(name);
      if (o === undefined) throw new Error(`Expected a placement for table '${name}' but the plan has none`);
      return o;
    };
    layout.features.forEach((f) => {
      if (f.pooling === 'none')
        throw new Error(
          `Expected pooled (sum/mean) features in a sharded collection but '${f.name}' is not pooled (sequence features across ranks are not supported yet by tsrec)`,
        );
    });
    const owner = layout.features.map((_, f) => ownerOf(f));
    this.dataParallel = owner.map((o) => o === 'all');
    this.held = Array.from({ length: this.W }, (_, q) =>
      layout.features.flatMap((_, f) => (owner[f] === 'all' || owner[f] === q ? [f] : [])),
    );
    // Where each column is in this rank's local collection (by feature and table name).
    const localAt = new Map<string, number>();
    if (local)
      for (const f of local.features)
        for (const m of f.members) localAt.set(`${f.name}\u0000${local.tables[m.table].name}`, m.offset);
    const mine = new Set(this.held[this.rank].map((f) => layout.features[f].name));
    const localFeatures = local ? local.features.map((f) => f.name) : [];
    if (localFeatures.join('\u0000') !== [...mine].join('\u0000'))
      throw new Error(
        `Expected the local collection of rank ${this.rank} to hold features [${[...mine].join(', ')}] in this order but it holds [${localFeatures.join(', ')}]`,
      );
    const runsOf = (pick: (f: number) => boolean): Run[][] => {
      const out: Run[][] = Array.from({ length: O }, () => []);
      layout.features.forEach((f, i) => {
        if (!pick(i)) return;
        for (const m of f.members) {
          const key = `${f.name}\u0000${layout.tables[m.table].name}`;
          out[m.output].push({
            output: m.output,
            at: m.offset,
            width: layout.tables[m.table].dim,
            local: mine.has(f.name) ? (localAt.get(key) ?? -1) : -1,
          });
        }
      });
      return out;
    };
    this.dpRuns = runsOf((f) => owner[f] === 'all');
    this.fwdRuns = Array.from({ length: this.W }, (_, q) => runsOf((f) => owner[f] === q));
    this.bwdRuns = this.fwdRuns.map((runs) => runs.map((r, o) => [...r, ...this.dpRuns[o]]));
    this.buf.local = (local?.pooledDims ?? []).map(() => new Grower());
    this.buf.outputs = this.pooledDims.map(() => new Grower());
    this.buf.grads = this.pooledDims.map(() => new Grower());
    this.buf.globalGrads = (local?.pooledDims ?? []).map(() => new Grower());
  }

  /**
   * The input and output dists of one batch (null: this rank has none this step and sends empty
   * parts): afterwards `forward` of the same batch returns its pooled columns. Every rank calls it
   * once per step, in the same order relative to its other collectives.
   */
  async prepare(comm: Communicator, batch: SparseBatch | null, phases?: Record<string, number>): Promise<void> {
    let t = performance.now();
    const add = (name: string) => {
      const now = performance.now();
      if (phases) phases[name] = (phases[name] ?? 0) + (now - t) / 1000;
      t = now;
    };
    const W = this.W;
    const F = this.features.length;
    const B = batch?.batchSize ?? 0;
    this.pending = null;
    if (batch) {
      if (!(batch.indices instanceof Int32Array) || !(batch.offsets instanceof Int32Array))
        throw new Error('Expected int32 ids and offsets in a sharded collection (what the data loader makes)');
      if (batch.offsets.length !== F * B + 1)
        throw new Error(`Expected ${F * B + 1} offsets (features × batch + 1) but received ${batch.offsets.length}`);
    }
    const offs = (batch?.offsets as Int32Array | undefined) ?? new Int32Array(1);
    const ids = (batch?.indices as Int32Array | undefined) ?? new Int32Array(0);
    const weights = batch?.weights ?? null;
    // Header to each rank q: [samples, ids of q's features, has weights].
    const header = new Float64Array(this.buf.header.bytes(24 * W), 0, 3 * W);
    const nnzTo = this.held.map((fs) => fs.reduce((a, f) => a + offs[(f + 1) * B] - offs[f * B], 0));
    for (let q = 0; q < W; q++) header.set([B, nnzTo[q], weights ? 1 : 0], 3 * q);
    const headersIn = new Float64Array(this.buf.headerIn.bytes(24 * W), 0, 3 * W);
    const h24 = new Array(W).fill(24);
    const d24 = h24.map((_, r) => 24 * r);
    await comm.alltoallv(u8(header), h24, d24, u8(headersIn), h24, d24);
    const counts = Array.from({ length: W }, (_, r) => headersIn[3 * r]);
    const nnzFrom = Array.from({ length: W }, (_, r) => headersIn[3 * r + 1]);
    const weighted = Array.from({ length: W }, (_, r) => headersIn[3 * r + 2] === 1);
    const starts = prefix(counts);
    const Bg = counts.reduce((a, b) => a + b, 0);
    // Ids to their holders: per destination q [lengths |held[q]|·B][ids][weights when present].
    const mineHeld = this.held[this.rank];
    const sendSize = this.held.map((fs, q) => 4 * (fs.length * B + nnzTo[q] * (weights ? 2 : 1)));
    const recvSize = counts.map((c, r) => 4 * (mineHeld.length * c + nnzFrom[r] * (weighted[r] ? 2 : 1)));
    const sendDispls = prefix(sendSize);
    const recvDispls = prefix(recvSize);
    const send = new Int32Array(this.buf.send.bytes(sum(sendSize)), 0, sum(sendSize) / 4);
    const sendF = new Float32Array(send.buffer, 0, send.length);
    for (let q = 0; q < W; q++) {
      let at = sendDispls[q] / 4;
      for (const f of this.held[q]) for (let b = 0; b < B; b++) send[at++] = offs[f * B + b + 1] - offs[f * B + b];
      for (const f of this.held[q]) {
        send.set(ids.subarray(offs[f * B], offs[(f + 1) * B]), at);
        at += offs[(f + 1) * B] - offs[f * B];
      }
      if (weights)
        for (const f of this.held[q]) {
          sendF.set(weights.subarray(offs[f * B], offs[(f + 1) * B]), at);
          at += offs[(f + 1) * B] - offs[f * B];
        }
    }
    const recv = new Int32Array(this.buf.recv.bytes(sum(recvSize)), 0, sum(recvSize) / 4);
    await comm.alltoallv(u8(send), sendSize, sendDispls, u8(recv), recvSize, recvDispls);
    add('input_dist');

    // The global batch of the local features, and its forward (data-parallel features: own samples only).
    let global: SparseBatch | null = null;
    let localOut: Float32Array[] = [];
    if (this.local && Bg > 0) {
      const built = this.globalBatches(recv, recvDispls, counts, nnzFrom, weighted, Bg);
      global = built.global;
      localOut = this.local.pooledDims.map((d, o) => this.buf.local[o].floats(Bg * d));
      this.local.forward(built.forward, { outputs: localOut });
    }
    add('lookup');

    // Pooled columns back: to each rank r, its samples' columns of this rank's table-wise features.
    const widthsFwd = this.fwdRuns.map((runs) => runs.map((rs) => rs.reduce((a, r) => a + r.width, 0)));
    const perRowMine = sum(widthsFwd[this.rank]);
    const outSize = counts.map((c) => 4 * c * perRowMine);
    const inSize = this.fwdRuns.map((_, q) => 4 * B * sum(widthsFwd[q]));
    const outDispls = prefix(outSize);
    const inDispls = prefix(inSize);
    const out = new Float32Array(this.buf.send.bytes(sum(outSize)), 0, sum(outSize) / 4);
    if (perRowMine > 0 && this.local) {
      const ld = this.local.pooledDims;
      for (let r = 0; r < W; r++) {
        let at = outDispls[r] / 4;
        for (let o = 0; o < ld.length; o++) {
          const runs = this.fwdRuns[this.rank][o] ?? [];
          if (runs.length === 0) continue;
          const src = localOut[o];
          for (let b = starts[r]; b < starts[r] + counts[r]; b++)
            for (const run of runs) {
              out.set(src.subarray(b * ld[o] + run.local, b * ld[o] + run.local + run.width), at);
              at += run.width;
            }
        }
      }
    }
    const back = new Float32Array(this.buf.recv.bytes(sum(inSize)), 0, sum(inSize) / 4);
    await comm.alltoallv(u8(out), outSize, outDispls, u8(back), inSize, inDispls);
    const outputs = this.pooledDims.map((d, o) => this.buf.outputs[o].floats(B * d));
    for (let q = 0; q < W; q++) {
      let at = inDispls[q] / 4;
      for (let o = 0; o < outputs.length; o++) {
        const runs = this.fwdRuns[q][o];
        if (runs.length === 0) continue;
        const D = this.pooledDims[o];
        for (let b = 0; b < B; b++)
          for (const run of runs) {
            outputs[o].set(back.subarray(at, at + run.width), b * D + run.at);
            at += run.width;
          }
      }
    }
    if (this.local && B > 0) {
      const ld = this.local.pooledDims;
      const s = starts[this.rank];
      for (let o = 0; o < outputs.length; o++) {
        const D = this.pooledDims[o];
        for (const run of this.dpRuns[o])
          for (let b = 0; b < B; b++)
            outputs[o].set(
              localOut[o].subarray((s + b) * ld[o] + run.local, (s + b) * ld[o] + run.local + run.width),
              b * D + run.at,
            );
      }
    }
    this.prepared = { batchSize: B, nnz: ids.length, counts, starts, outputs, global };
    add('output_dist');
  }

  /** The global batch (every rank's bags of the local features, rank order) and the forward's batch. */
  private globalBatches(
    recv: Int32Array,
    displs: number[],
    counts: number[],
    nnzFrom: number[],
    weighted: boolean[],
    Bg: number,
  ): { global: SparseBatch; forward: SparseBatch } {
    const W = this.W;
    const held = this.held[this.rank];
    const Fl = held.length;
    const hasW = weighted.some((x, r) => x && counts[r] > 0);
    const nnz = sum(nnzFrom);
    const offsets = this.buf.offsets.ints(Fl * Bg + 1);
    const ids = this.buf.ids.ints(nnz);
    const weights = hasW ? this.buf.weights.floats(nnz) : null;
    const dp = held.map((f) => this.dataParallel[f]);
    const anyDp = dp.some((x) => x);
    const fOffsets = anyDp ? this.buf.fwdOffsets.ints(Fl * Bg + 1) : offsets;
    const fIds = anyDp ? this.buf.fwdIds.ints(nnz) : ids;
    const fWeights = anyDp && hasW ? this.buf.fwdWeights.floats(nnz) : weights;
    // Per source rank: where each feature's ids start in its part.
    const parts = counts.map((c, r) => {
      const base = displs[r] / 4;
      const lens = recv.subarray(base, base + Fl * c);
      const idsAt = base + Fl * c;
      const featStart = new Array(Fl + 1).fill(0);
      for (let i = 0; i < Fl; i++) {
        let n = 0;
        for (let b = 0; b < c; b++) n += lens[i * c + b];
        featStart[i + 1] = featStart[i] + n;
      }
      return { c, lens, idsAt, weightsAt: weighted[r] ? idsAt + nnzFrom[r] : -1, featStart };
    });
    const recvF = new Float32Array(recv.buffer, recv.byteOffset, recv.length);
    let k = 0;
    let fk = 0;
    let bag = 0;
    for (let i = 0; i < Fl; i++)
      for (let r = 0; r < W; r++) {
        const p = parts[r];
        const from = p.idsAt + p.featStart[i];
        const n = p.featStart[i + 1] - p.featStart[i];
        const keep = !dp[i] || r === this.rank;
        for (let b = 0; b < p.c; b++) {
          offsets[bag] = k;
          fOffsets[bag] = fk;
          k += p.lens[i * p.c + b];
          if (keep) fk += p.lens[i * p.c + b];
          bag++;
        }
        ids.set(recv.subarray(from, from + n), k - n);
        if (weights) {
          if (p.weightsAt >= 0)
            weights.set(recvF.subarray(p.weightsAt + p.featStart[i], p.weightsAt + p.featStart[i + 1]), k - n);
          else weights.fill(1, k - n, k);
        }
        if (anyDp && keep) {
          fIds.set(recv.subarray(from, from + n), fk - n);
          if (fWeights) fWeights.set(weights!.subarray(k - n, k), fk - n);
        }
      }
    offsets[bag] = k;
    fOffsets[bag] = fk;
    const global = { indices: ids, offsets, weights, batchSize: Bg };
    const forward = anyDp
      ? {
          indices: fIds.subarray(0, fk),
          offsets: fOffsets,
          weights: fWeights ? fWeights.subarray(0, fk) : null,
          batchSize: Bg,
        }
      : global;
    return { global, forward };
  }

  forward(batch: SparseBatch, out?: { pooled?: Float32Array; outputs?: Float32Array[] }): ForwardResult {
    const p = this.preparedFor(batch, 'forward');
    const outputs = p.outputs.map((src, o) => {
      const dst = out?.outputs?.[o] ?? (o === 0 ? out?.pooled : undefined);
      if (!dst) return src;
      if (dst.length !== src.length)
        throw new Error(`Expected an output of ${src.length} floats for pooled output ${o} but received ${dst.length}`);
      dst.set(src);
      return dst;
    });
    return { pooled: outputs[0], outputs, sequence: new Float32Array(0), sequences: {} };
  }

  backwardAndUpdate(batch: SparseBatch, gradPooled: Float32Array | Float32Array[], lr: number): void {
    const p = this.preparedFor(batch, 'backwardAndUpdate');
    if (this.pending)
      throw new Error('Expected one backward per training step but received a second before the ranks synchronized');
    const all = Array.isArray(gradPooled) ? gradPooled : [gradPooled];
    if (all.length !== this.pooledDims.length)
      throw new Error(
        `Expected ${this.pooledDims.length} dL/dpooled arrays (one per pooled output) but received ${all.length}`,
      );
    // Copied × 1/W (each rank's share of the global batch's mean gradient): the gradients are the
    // engine's (borrowed) and the update runs after the backprop.
    const scale = 1 / this.W;
    const grads = all.map((g, o) => {
      if (g.length !== p.batchSize * this.pooledDims[o])
        throw new Error(
          `Expected dL/dpooled[${o}] of ${p.batchSize} × ${this.pooledDims[o]} floats but received ${g.length}`,
        );
      const dst = this.buf.grads[o].floats(g.length);
      for (let i = 0; i < g.length; i++) dst[i] = g[i] * scale;
      return dst;
    });
    this.pending = { grads, lr };
  }

  /**
   * The backward of the prepared batch: dL/dpooled columns to the ranks holding their tables, and
   * the fused update there. Every rank calls it once per training step (a rank whose loss did not
   * reach this collection sends zeros). `queued` runs once this collection's collective is queued.
   */
  async synchronize(comm: Communicator, phases?: Record<string, number>, queued?: () => void): Promise<void> {
    let t = performance.now();
    const add = (name: string) => {
      const now = performance.now();
      if (phases) phases[name] = (phases[name] ?? 0) + (now - t) / 1000;
      t = now;
    };
    const p = this.prepared;
    if (!p) throw new Error('Expected prepare(batch) before synchronize on a sharded collection');
    const W = this.W;
    const B = p.batchSize;
    // Each part starts with the sender's learning rate (NaN when its loss did not reach this
    // collection): the holders of the tables use the one of the ranks that had a backward.
    const myLr = this.pending?.lr ?? Number.NaN;
    const grads = this.pending?.grads ?? this.pooledDims.map((d, o) => this.buf.grads[o].floats(B * d).fill(0));
    this.pending = null;
    const widths = this.bwdRuns.map((runs) => runs.map((rs) => rs.reduce((a, r) => a + r.width, 0)));
    const sendSize = widths.map((w) => 8 + 4 * B * sum(w));
    const recvSize = p.counts.map((c) => 8 + 4 * c * sum(widths[this.rank]));
    const sendDispls = prefix(sendSize);
    const recvDispls = prefix(recvSize);
    const send = new Float32Array(this.buf.send.bytes(sum(sendSize)), 0, sum(sendSize) / 4);
    const sendView = new DataView(send.buffer);
    for (let q = 0; q < W; q++) {
      sendView.setFloat64(sendDispls[q], myLr, true);
      let at = sendDispls[q] / 4 + 2;
      for (let o = 0; o < this.pooledDims.length; o++) {
        const D = this.pooledDims[o];
        const runs = this.bwdRuns[q][o];
        if (runs.length === 0) continue;
        for (let b = 0; b < B; b++)
          for (const run of runs) {
            send.set(grads[o].subarray(b * D + run.at, b * D + run.at + run.width), at);
            at += run.width;
          }
      }
    }
    const recv = new Float32Array(this.buf.recv.bytes(sum(recvSize)), 0, sum(recvSize) / 4);
    const moved = comm.alltoallv(u8(send), sendSize, sendDispls, u8(recv), recvSize, recvDispls);
    queued?.();
    await moved;
    add('grad_dist');
    if (!this.local || !p.global) return;
    const recvView = new DataView(recv.buffer, recv.byteOffset, recv.byteLength);
    const lrs = recvDispls.map((d) => recvView.getFloat64(d, true)).filter((x) => !Number.isNaN(x));
    if (lrs.length === 0) return; // no rank had a backward: nothing to apply
    const lr = lrs[0];
    if (lrs.some((x) => x !== lr))
      throw new Error(`Expected one sparse learning rate on every rank but received ${[...new Set(lrs)].join(', ')}`);
    const ld = this.local.pooledDims;
    const Bg = p.global.batchSize;
    const global = ld.map((d, o) => this.buf.globalGrads[o].floats(Bg * d).fill(0));
    for (let r = 0; r < W; r++) {
      let at = recvDispls[r] / 4 + 2;
      for (let o = 0; o < this.pooledDims.length; o++) {
        const runs = this.bwdRuns[this.rank][o];
        if (runs.length === 0) continue;
        for (let b = p.starts[r]; b < p.starts[r] + p.counts[r]; b++)
          for (const run of runs) {
            global[o].set(recv.subarray(at, at + run.width), b * ld[o] + run.local);
            at += run.width;
          }
      }
    }
    this.local.backwardAndUpdate(p.global, global, lr);
    add('sparse_update');
  }

  private preparedFor(batch: SparseBatch, what: string): Prepared {
    const p = this.prepared;
    if (!p || p.batchSize !== batch.batchSize || p.nnz !== batch.indices.length)
      throw new Error(
        `Expected ${what} of the batch given to prepare (${p ? `${p.batchSize} samples, ${p.nnz} ids` : 'none'}) but received ${batch.batchSize} samples, ${batch.indices.length} ids: a sharded collection's batch must be prepared first (the trainer does)`,
      );
    return p;
  }
}

/** The sparse part of `batch` a collection reads: its features, in its order (as the model's embedding group selects it). */
export function sparseBatchOf(collection: PooledEmbeddingCollection, batch: ModelBatch): SparseBatch {
  const names = collection.features.map((f) => f.name);
  const keys = batch.sparse.keys;
  const same = names.length === keys.length && names.every((n, i) => n === keys[i]);
  return same ? batch.sparse.toSparseBatch() : batch.sparse.select(names).toSparseBatch();
}

function u8(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function prefix(xs: readonly number[]): number[] {
  const out = new Array(xs.length).fill(0);
  for (let i = 1; i < xs.length; i++) out[i] = out[i - 1] + xs[i - 1];
  return out;
}
