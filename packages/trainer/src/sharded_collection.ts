/**
 * An embedding collection whose tables are spread over the ranks (issue 20), placed by
 * sharding_plan.ts: a table-wise table lives on one rank, a row-wise table is cut into blocks of
 * ceil(rows / W) rows (rank q holds rows [q·block, (q+1)·block), TorchRec's layout), a
 * data-parallel table lives on every rank. Models see the whole collection's layout (features,
 * pooled columns) and call `forward` / `backwardAndUpdate` as on any collection; the trainer awaits
 * `prepare(batch)` before the model's forward and `synchronize(comm)` after its backward, which move
 * the data (TorchRec's input and output dists):
 *
 * prepare — every rank sends each rank q the bags q needs for its own samples: whole bags of q's
 *   table-wise features and of the data-parallel ones, and of each row-wise feature the sub-bag of
 *   ids in q's rows (shifted to q's block): an all-to-all of a small header, then one of lengths, ids
 *   and weights. Rank q pools the global batch (the ranks' samples in rank order; a data-parallel
 *   feature only over q's own samples; a row-wise feature as a sum of its sub-bags) with its local
 *   collection, and sends each rank the pooled columns of its table-wise features and its partial
 *   sums of the row-wise ones for that rank's samples: one all-to-all. The requester adds the
 *   partial sums in rank order (and divides a mean by the bag's length).
 * synchronize — every rank sends each rank q dL/dpooled × 1/W of the columns q holds (a row-wise
 *   mean's also × 1/length) for its own samples (one all-to-all); q runs the fused backward and
 *   sparse optimizer of its local tables on the global batch.
 *
 * Table-wise and data-parallel tables get the update the replicated collection (distributed.ts)
 * applies everywhere — the same bits. Row-wise tables get the same update up to float rounding (a
 * bag's sum is taken in pieces). A rank holding no table of the collection only sends and receives.
 */
import type { EmbeddingCollectionSpec, ModelBatch, PooledEmbeddingCollection } from '@tsrec/models';
import {
  bytesOf,
  type Communicator,
  collectionLayout,
  copyColumnRuns,
  type EmbeddingCollection,
  type ForwardResult,
  type SparseBatch,
  type TableSpec,
} from '@tsrec/native';

import { Grower, phaseTimer, prefixSums } from './distributed';

/** Where a table lives: its rank (table-wise), every rank ('all', data-parallel) or row blocks over all ranks ('rows'). */
export type TablePlace = number | 'all' | 'rows';

/** The rows [first, first + rows) of a `rows`-row table that rank `rank` of `w` holds (row-wise: blocks of ceil(rows / w)). */
export function rowBlock(rows: number, w: number, rank: number): { first: number; rows: number } {
  const block = Math.ceil(rows / w);
  const first = Math.min(rows, rank * block);
  return { first, rows: Math.min(rows, first + block) - first };
}

/** The part of a collection rank `rank` of `w` holds: its tables (a row-wise one as its block) and the features reading them. */
export interface LocalSpec {
  tables: (TableSpec & { initStream: number })[];
  features: { name: string; table: string; pooling: 'sum' | 'mean' }[];
  /** First logical row of each row-wise block held. */
  firstRows: Map<string, number>;
}

/**
 * What rank `rank` holds of `spec` under `places` (null when nothing): each table keeps its index in
 * the whole collection as init stream (and a row-wise block its first row), so it starts from the
 * bits the whole collection would have; a row-wise feature pools its sub-bags by sum (the
 * requester divides a mean).
 */
export function localSpec(
  spec: EmbeddingCollectionSpec,
  places: ReadonlyMap<string, TablePlace>,
  w: number,
  rank: number,
): LocalSpec | null {
  const placeOf = (name: string) => {
    const p = places.get(name);
    if (p === undefined) throw new Error(`Expected a placement for table '${name}' but the plan has none`);
    return p;
  };
  const firstRows = new Map<string, number>();
  const tables: LocalSpec['tables'] = [];
  spec.tables.forEach((t, i) => {
    const p = placeOf(t.name);
    if (p === 'all' || p === rank) tables.push({ ...t, initStream: i });
    else if (p === 'rows') {
      const b = rowBlock(t.rows, w, rank);
      if (b.rows === 0) return;
      tables.push({ ...t, rows: b.rows, initStream: i, initFirstRow: b.first, initRows: t.rows });
      firstRows.set(t.name, b.first);
    }
  });
  if (tables.length === 0) return null;
  const here = new Set(tables.map((t) => t.name));
  const features = spec.features
    .filter((f) => here.has(f.table))
    .map((f) => (placeOf(f.table) === 'rows' ? { ...f, pooling: 'sum' as const } : f));
  return { tables, features, firstRows };
}

/** The batch of the step in flight: this rank's part, and what its local collection pooled. */
interface Prepared {
  batchSize: number;
  nnz: number;
  /** This rank's offsets (bag lengths of row-wise means). */
  offsets: Int32Array;
  /** Samples of each rank (they are the global batch in rank order). */
  counts: number[];
  starts: number[];
  outputs: Float32Array[];
  /** The global batch of the local features (all ranks' bags), for the backward. */
  global: SparseBatch | null;
}

/**
 * The columns of one output exchanged with one rank, `width` per sample on the wire, as runs for
 * `copyColumnRuns` ([srcCol, dstCol, len, add] quadruples): from this rank's local output to the
 * wire, from the wire into the whole layout (row-wise partial sums added), from the whole layout to
 * the wire, and from the wire into the local output.
 */
interface Cols {
  width: number;
  localToWire: Int32Array;
  wireToFull: Int32Array;
  fullToWire: Int32Array;
  wireToLocal: Int32Array;
  /** Row-wise mean columns: where they are on the wire and in the whole layout, and their feature. */
  means: { wire: number; full: number; len: number; feature: number }[];
}

/** Runs [src, dst, len, add] with neighbours that continue each other merged. */
function runsOf(parts: readonly { src: number; dst: number; len: number; add: number }[]): Int32Array {
  const out: number[] = [];
  for (const p of parts) {
    const n = out.length;
    if (n > 0 && out[n - 4] + out[n - 2] === p.src && out[n - 3] + out[n - 2] === p.dst && out[n - 1] === p.add)
      out[n - 2] += p.len;
    else out.push(p.src, p.dst, p.len, p.add);
  }
  return Int32Array.from(out);
}

export class ShardedCollection implements PooledEmbeddingCollection {
  readonly pooledDim: number;
  readonly pooledDims: readonly number[];
  readonly features: PooledEmbeddingCollection['features'];
  readonly tables: PooledEmbeddingCollection['tables'];
  private readonly W: number;
  private readonly rank: number;
  /** Per rank: the features (indices in `features`) whose tables (or blocks of them) it holds, in feature order. */
  private readonly held: number[][];
  private readonly place: TablePlace[];
  /** Row-wise features: the row block of their table (0 for the others); every feature's table rows. */
  private readonly block: number[];
  private readonly rowsOf: number[];
  /** Per rank q, per output: the columns q sends back pooled, and the columns q receives gradients of. */
  private readonly fwd: Cols[][];
  private readonly bwd: Cols[][];
  /** Per output: this rank's data-parallel columns, local output → whole layout (from its own forward). */
  private readonly dp: Int32Array[];
  /** Per output: the row-wise mean columns (divided by the bag length once the partial sums are added). */
  private readonly meanCols: { full: number; len: number; feature: number }[][];
  private prepared: Prepared | null = null;
  /** The backward's packed gradients: where each rank's part is in the send buffer. */
  private pending: { size: number[]; displs: number[] } | null = null;
  private readonly buf = {
    header: new Grower(),
    headerIn: new Grower(),
    send: new Grower(),
    recv: new Grower(),
    gradSend: new Grower(),
    split: new Grower(),
    offsets: new Grower(),
    ids: new Grower(),
    weights: new Grower(),
    fwdOffsets: new Grower(),
    fwdIds: new Grower(),
    fwdWeights: new Grower(),
    local: [] as Grower[],
    outputs: [] as Grower[],
    globalGrads: [] as Grower[],
  };

  /**
   * `spec`: the whole collection (what the model asked for); `local`: the part of it this rank holds
   * (`localSpec`), or null; `places`: every table's place.
   */
  constructor(
    spec: EmbeddingCollectionSpec,
    readonly local: EmbeddingCollection | null,
    places: ReadonlyMap<string, TablePlace>,
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
      features: spec.features,
    });
    const W = comm.size;
    this.W = W;
    this.rank = comm.rank;
    this.tables = layout.tables;
    this.features = layout.features;
    this.pooledDims = layout.pooledDims;
    this.pooledDim = layout.pooledDims[0];
    const O = this.pooledDims.length;
    for (const f of layout.features)
      if (f.pooling === 'none')
        throw new Error(
          `Expected pooled (sum/mean) features in a sharded collection but '${f.name}' is not pooled (sequence features across ranks are not supported yet by tsrec)`,
        );
    this.place = layout.features.map((f) => {
      const name = layout.tables[f.table].name;
      const p = places.get(name);
      if (p === undefined) throw new Error(`Expected a placement for table '${name}' but the plan has none`);
      return p;
    });
    this.rowsOf = layout.features.map((f) => layout.tables[f.table].rows);
    this.block = layout.features.map((f, i) =>
      this.place[i] === 'rows' ? Math.ceil(layout.tables[f.table].rows / W) : 0,
    );
    const holds = (q: number, f: number) => {
      const p = this.place[f];
      if (p === 'rows') return rowBlock(layout.tables[layout.features[f].table].rows, W, q).rows > 0;
      return p === 'all' || p === q;
    };
    this.held = Array.from({ length: W }, (_, q) => layout.features.flatMap((_, f) => (holds(q, f) ? [f] : [])));
    // Where each column is in this rank's local collection (by feature and table name).
    const localAt = new Map<string, number>();
    if (local)
      for (const f of local.features)
        for (const m of f.members) localAt.set(`${f.name}\u0000${local.tables[m.table].name}`, m.offset);
    const mine = this.held[this.rank].map((f) => layout.features[f].name);
    const localFeatures = local ? local.features.map((f) => f.name) : [];
    if (localFeatures.join('\u0000') !== mine.join('\u0000'))
      throw new Error(
        `Expected the local collection of rank ${this.rank} to hold features [${mine.join(', ')}] in this order but it holds [${localFeatures.join(', ')}]`,
      );
    const mineSet = new Set(mine);
    /** Per output, the members (a feature's columns of one table) of the features picked, in layout order. */
    const membersOf = (pick: (f: number) => boolean) =>
      Array.from({ length: O }, (_, o) =>
        layout.features.flatMap((f, i) =>
          pick(i)
            ? f.members
                .filter((m) => m.output === o)
                .map((m) => ({
                  full: m.offset,
                  local: mineSet.has(f.name)
                    ? (localAt.get(`${f.name}\u0000${layout.tables[m.table].name}`) ?? -1)
                    : -1,
                  len: layout.tables[m.table].dim,
                  add: this.place[i] === 'rows' ? 1 : 0,
                  mean: this.place[i] === 'rows' && f.pooling === 'mean' ? i : -1,
                }))
            : [],
        ),
      );
    const colsOf = (pick: (f: number) => boolean): Cols[] =>
      membersOf(pick).map((ms) => {
        let wire = 0;
        const at = ms.map((m) => {
          const w = wire;
          wire += m.len;
          return w;
        });
        return {
          width: wire,
          localToWire: runsOf(ms.map((m, k) => ({ src: m.local, dst: at[k], len: m.len, add: 0 }))),
          wireToFull: runsOf(ms.map((m, k) => ({ src: at[k], dst: m.full, len: m.len, add: m.add }))),
          fullToWire: runsOf(ms.map((m, k) => ({ src: m.full, dst: at[k], len: m.len, add: 0 }))),
          wireToLocal: runsOf(ms.map((m, k) => ({ src: at[k], dst: m.local, len: m.len, add: 0 }))),
          means: ms.flatMap((m, k) =>
            m.mean >= 0 ? [{ wire: at[k], full: m.full, len: m.len, feature: m.mean }] : [],
          ),
        };
      });
    this.fwd = Array.from({ length: W }, (_, q) => colsOf((f) => this.place[f] !== 'all' && holds(q, f)));
    this.bwd = Array.from({ length: W }, (_, q) => colsOf((f) => holds(q, f)));
    this.dp = membersOf((f) => this.place[f] === 'all').map((ms) =>
      runsOf(ms.map((m) => ({ src: m.local, dst: m.full, len: m.len, add: 0 }))),
    );
    this.meanCols = membersOf((f) => this.place[f] === 'rows' && layout.features[f].pooling === 'mean').map((ms) =>
      ms.map((m) => ({ full: m.full, len: m.len, feature: m.mean })),
    );
    this.buf.local = (local?.pooledDims ?? []).map(() => new Grower());
    this.buf.outputs = this.pooledDims.map(() => new Grower());
    this.buf.globalGrads = (local?.pooledDims ?? []).map(() => new Grower());
  }

  /**
   * The input and output dists of one batch (null: this rank has none this step and sends empty
   * parts): afterwards `forward` of the same batch returns its pooled columns. Every rank calls it
   * once per step, in the same order relative to its other collectives.
   */
  async prepare(comm: Communicator, batch: SparseBatch | null, phases?: Record<string, number>): Promise<void> {
    const add = phaseTimer(phases);
    const W = this.W;
    const F = this.features.length;
    const B = batch?.batchSize ?? 0;
    this.pending = null;
    this.prepared = null;
    if (batch) {
      if (!(batch.indices instanceof Int32Array) || !(batch.offsets instanceof Int32Array))
        throw new Error('Expected int32 ids and offsets in a sharded collection (what the data loader makes)');
      if (batch.offsets.length !== F * B + 1)
        throw new Error(`Expected ${F * B + 1} offsets (features × batch + 1) but received ${batch.offsets.length}`);
    }
    const offs = (batch?.offsets as Int32Array | undefined) ?? new Int32Array(1);
    const ids = (batch?.indices as Int32Array | undefined) ?? new Int32Array(0);
    const weights = batch?.weights ?? null;
    // Row-wise features: how many ids of each bag fall in each rank's rows ([W][B] per feature).
    const rowWise = this.features.map((_, f) => this.place[f] === 'rows');
    const split = this.splitRowWise(offs, ids, B);
    const idsTo = (q: number, f: number) => {
      if (!rowWise[f]) return offs[(f + 1) * B] - offs[f * B];
      const c = split.get(f)!;
      let n = 0;
      for (let b = 0; b < B; b++) n += c[q * B + b];
      return n;
    };
    // Header to each rank q: [samples, ids of q's features, has weights].
    const header = new Float64Array(this.buf.header.bytes(24 * W), 0, 3 * W);
    const nnzTo = this.held.map((fs, q) => fs.reduce((a, f) => a + idsTo(q, f), 0));
    for (let q = 0; q < W; q++) header.set([B, nnzTo[q], weights ? 1 : 0], 3 * q);
    const headersIn = new Float64Array(this.buf.headerIn.bytes(24 * W), 0, 3 * W);
    const h24 = new Array(W).fill(24);
    const d24 = h24.map((_, r) => 24 * r);
    await comm.alltoallv(bytesOf(header), h24, d24, bytesOf(headersIn), h24, d24);
    const counts = Array.from({ length: W }, (_, r) => headersIn[3 * r]);
    const nnzFrom = Array.from({ length: W }, (_, r) => headersIn[3 * r + 1]);
    const weighted = Array.from({ length: W }, (_, r) => headersIn[3 * r + 2] === 1);
    const starts = prefixSums(counts);
    const Bg = sum(counts);
    // Ids to the ranks holding them: per destination q [lengths |held[q]|·B][ids][weights when present].
    const mineHeld = this.held[this.rank];
    const sendSize = this.held.map((fs, q) => 4 * (fs.length * B + nnzTo[q] * (weights ? 2 : 1)));
    const recvSize = counts.map((c, r) => 4 * (mineHeld.length * c + nnzFrom[r] * (weighted[r] ? 2 : 1)));
    const sendDispls = prefixSums(sendSize);
    const recvDispls = prefixSums(recvSize);
    const send = new Int32Array(this.buf.send.bytes(sum(sendSize)), 0, sum(sendSize) / 4);
    this.packIds(send, sendDispls, nnzTo, offs, ids, weights, B, split);
    const recv = new Int32Array(this.buf.recv.bytes(sum(recvSize)), 0, sum(recvSize) / 4);
    await comm.alltoallv(bytesOf(send), sendSize, sendDispls, bytesOf(recv), recvSize, recvDispls);
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

    // Pooled columns back: to each rank r, its samples' columns (values or partial sums) that this rank pools.
    const fwdWidth = this.fwd.map((cs) => sum(cs.map((c) => c.width)));
    const outSize = counts.map((c) => 4 * c * fwdWidth[this.rank]);
    const inSize = this.fwd.map((_, q) => 4 * B * fwdWidth[q]);
    const outDispls = prefixSums(outSize);
    const inDispls = prefixSums(inSize);
    const out = new Float32Array(this.buf.send.bytes(sum(outSize)), 0, sum(outSize) / 4);
    if (fwdWidth[this.rank] > 0 && this.local) this.packPooled(localOut, counts, starts, outDispls, out);
    const back = new Float32Array(this.buf.recv.bytes(sum(inSize)), 0, sum(inSize) / 4);
    add('output_pack');
    await comm.alltoallv(bytesOf(out), outSize, outDispls, bytesOf(back), inSize, inDispls);
    add('output_a2a');
    const outputs = this.unpackPooled(back, inDispls, B, offs, localOut, starts[this.rank]);
    this.prepared = { batchSize: B, nnz: ids.length, offsets: offs, counts, starts, outputs, global };
    add('output_dist');
  }

  /** Row-wise features: how many ids of each bag fall in each rank's rows ([W][B] per feature); ids checked. */
  private splitRowWise(offs: Int32Array, ids: Int32Array, B: number): Map<number, Int32Array> {
    const W = this.W;
    const split = new Map<number, Int32Array>();
    const rw = this.features.map((_, f) => f).filter((f) => this.place[f] === 'rows');
    const all = this.buf.split.ints(rw.length * W * B).fill(0);
    rw.forEach((f, k) => {
      const c = all.subarray(k * W * B, (k + 1) * W * B);
      const bad = countBlocks(offs, ids, f, B, this.block[f], this.rowsOf[f], c);
      if (bad >= 0)
        throw new RangeError(
          `Expected ids in [0, ${this.rowsOf[f]}) for feature '${this.features[f].name}' (table '${this.tables[this.features[f].table].name}') but received ${ids[bad]} at position ${bad - offs[f * B]} of the feature`,
        );
      split.set(f, c);
    });
    return split;
  }

  /** Per destination q: [bag lengths of q's features][their ids (row-wise: those in q's rows, shifted)][weights]. */
  private packIds(
    send: Int32Array,
    displs: number[],
    nnzTo: number[],
    offs: Int32Array,
    ids: Int32Array,
    weights: Float32Array | null,
    B: number,
    split: Map<number, Int32Array>,
  ): void {
    const sendF = new Float32Array(send.buffer, send.byteOffset, send.length);
    for (let q = 0; q < this.W; q++) {
      const fs = this.held[q];
      let at = displs[q] / 4;
      for (const f of fs)
        if (this.place[f] === 'rows') {
          send.set(split.get(f)!.subarray(q * B, (q + 1) * B), at);
          at += B;
        } else at = bagLengths(offs, f, B, send, at);
      const wAt = at + nnzTo[q];
      let k = 0;
      for (const f of fs) {
        const from = offs[f * B];
        const to = offs[(f + 1) * B];
        if (this.place[f] !== 'rows') {
          send.set(ids.subarray(from, to), at + k);
          if (weights) sendF.set(weights.subarray(from, to), wAt + k);
          k += to - from;
        } else k = idsInBlock(ids, weights, from, to, q * this.block[f], this.block[f], send, sendF, at, wAt, k);
      }
    }
  }

  /** To each rank r: its samples' columns (values or partial sums) this rank pools, output after output. */
  private packPooled(
    localOut: Float32Array[],
    counts: number[],
    starts: number[],
    displs: number[],
    out: Float32Array,
  ): void {
    const ld = this.local!.pooledDims;
    for (let r = 0; r < this.W; r++) {
      let at = displs[r] / 4;
      for (let o = 0; o < ld.length; o++) {
        const c = this.fwd[this.rank][o];
        if (c.width === 0) continue;
        copyColumnRuns(localOut[o], starts[r] * ld[o], ld[o], out, at, c.width, counts[r], c.localToWire);
        at += counts[r] * c.width;
      }
    }
  }

  /**
   * The pooled outputs of this rank's batch: every rank's block in rank order (table-wise values
   * set, row-wise partial sums added), the data-parallel columns from the local forward, then the
   * row-wise means divided by their bags' lengths (an empty bag stays 0).
   */
  private unpackPooled(
    back: Float32Array,
    displs: number[],
    B: number,
    offs: Int32Array,
    localOut: Float32Array[],
    start: number,
  ): Float32Array[] {
    const outputs = this.pooledDims.map((d, o) => this.buf.outputs[o].floats(B * d).fill(0));
    for (let q = 0; q < this.W; q++) {
      let at = displs[q] / 4;
      for (let o = 0; o < outputs.length; o++) {
        const c = this.fwd[q][o];
        if (c.width === 0) continue;
        copyColumnRuns(back, at, c.width, outputs[o], 0, this.pooledDims[o], B, c.wireToFull);
        at += B * c.width;
      }
    }
    if (this.local && B > 0) {
      const ld = this.local.pooledDims;
      for (let o = 0; o < outputs.length; o++)
        if (this.dp[o].length > 0)
          copyColumnRuns(localOut[o], start * ld[o], ld[o], outputs[o], 0, this.pooledDims[o], B, this.dp[o]);
    }
    for (let o = 0; o < outputs.length; o++)
      for (const m of this.meanCols[o])
        scaleByLength(outputs[o], this.pooledDims[o], m.full, m.len, offs, m.feature, B);
    return outputs;
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
    const dp = held.map((f) => this.place[f] === 'all');
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
          if (fWeights && weights) fWeights.set(weights.subarray(k - n, k), fk - n);
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

  /**
   * Packs dL/dpooled × 1/W for the ranks holding each column (the engine's gradients are borrowed:
   * they are copied here, the update runs after the backprop): the send buffer of `synchronize`.
   */
  backwardAndUpdate(batch: SparseBatch, gradPooled: Float32Array | Float32Array[], lr: number): void {
    const p = this.preparedFor(batch, 'backwardAndUpdate');
    if (this.pending)
      throw new Error('Expected one backward per training step but received a second before the ranks synchronized');
    const all = Array.isArray(gradPooled) ? gradPooled : [gradPooled];
    if (all.length !== this.pooledDims.length)
      throw new Error(
        `Expected ${this.pooledDims.length} dL/dpooled arrays (one per pooled output) but received ${all.length}`,
      );
    all.forEach((g, o) => {
      if (g.length !== p.batchSize * this.pooledDims[o])
        throw new Error(
          `Expected dL/dpooled[${o}] of ${p.batchSize} × ${this.pooledDims[o]} floats but received ${g.length}`,
        );
    });
    this.pending = this.packGrads(p, all, lr);
  }

  /** Per destination q: [lr (8 bytes)][its columns of every sample, output after output] (no gradients: zeros, lr NaN). */
  private packGrads(p: Prepared, grads: Float32Array[] | null, lr: number): { size: number[]; displs: number[] } {
    const W = this.W;
    const B = p.batchSize;
    const size = this.bwd.map((cs) => 8 + 4 * B * sum(cs.map((c) => c.width)));
    const displs = prefixSums(size);
    const send = this.buf.gradSend.floats(sum(size) / 4);
    const view = new DataView(send.buffer);
    for (let q = 0; q < W; q++) {
      view.setFloat64(displs[q], lr, true);
      let at = displs[q] / 4 + 2;
      for (let o = 0; o < this.pooledDims.length; o++) {
        const c = this.bwd[q][o];
        if (c.width === 0) continue;
        if (!grads) send.fill(0, at, at + B * c.width);
        else {
          // × 1/W: each rank's share of the global batch's mean gradient (as JS rounds a product).
          copyColumnRuns(grads[o], 0, this.pooledDims[o], send, at, c.width, B, c.fullToWire, 1 / W);
          // A row-wise mean pools its sub-bags by sum: the gradient of each id is dL/dpooled / length.
          for (const m of c.means) scaleByLength(send.subarray(at), c.width, m.wire, m.len, p.offsets, m.feature, B);
        }
        at += B * c.width;
      }
    }
    return { size, displs };
  }

  /**
   * The backward of the prepared batch: dL/dpooled columns to the ranks holding their tables, and
   * the fused update there. Every rank calls it once per training step (a rank whose loss did not
   * reach this collection sends zeros). `queued` runs once this collection's collective is queued.
   */
  async synchronize(comm: Communicator, phases?: Record<string, number>, queued?: () => void): Promise<void> {
    const add = phaseTimer(phases);
    const p = this.prepared;
    if (!p) throw new Error('Expected prepare(batch) before synchronize on a sharded collection');
    const W = this.W;
    // Each part starts with the sender's learning rate (NaN when its loss did not reach this
    // collection): the holders of the tables use the one of the ranks that had a backward.
    const packed = this.pending ?? this.packGrads(p, null, Number.NaN);
    this.pending = null;
    const send = this.buf.gradSend.floats(sum(packed.size) / 4);
    const width = sum(this.bwd[this.rank].map((c) => c.width));
    const recvSize = p.counts.map((c) => 8 + 4 * c * width);
    const recvDispls = prefixSums(recvSize);
    const recv = new Float32Array(this.buf.recv.bytes(sum(recvSize)), 0, sum(recvSize) / 4);
    add('grad_pack');
    const moved = comm.alltoallv(bytesOf(send), packed.size, packed.displs, bytesOf(recv), recvSize, recvDispls);
    moved.catch(() => {}); // awaited below; queued() must not leave it unhandled if it throws
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
    // Every local column is some rank's gradient column: no zeroing needed.
    const global = ld.map((d, o) => this.buf.globalGrads[o].floats(Bg * d));
    for (let r = 0; r < W; r++) {
      let at = recvDispls[r] / 4 + 2;
      for (let o = 0; o < this.pooledDims.length; o++) {
        const c = this.bwd[this.rank][o];
        if (c.width === 0) continue;
        copyColumnRuns(recv, at, c.width, global[o], p.starts[r] * ld[o], ld[o], p.counts[r], c.wireToLocal);
        at += p.counts[r] * c.width;
      }
    }
    add('grad_unpack');
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

// The loops over every sample and column live in plain functions: V8 optimizes them (it does not
// optimize a long loop inside an async function while it runs, which made them ~10× slower).

/** Counts feature f's ids per (rank block, bag) into c ([W][B]); returns the position of an id outside [0, rows), or -1. */
function countBlocks(
  offs: Int32Array,
  ids: Int32Array,
  f: number,
  B: number,
  block: number,
  rows: number,
  c: Int32Array,
): number {
  for (let b = 0; b < B; b++)
    for (let i = offs[f * B + b], end = offs[f * B + b + 1]; i < end; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < rows)) return i;
      c[Math.floor(id / block) * B + b]++;
    }
  return -1;
}

/** Feature f's bag lengths into send from `at`; returns the next position. */
function bagLengths(offs: Int32Array, f: number, B: number, send: Int32Array, at: number): number {
  for (let b = 0; b < B; b++) send[at++] = offs[f * B + b + 1] - offs[f * B + b];
  return at;
}

/** The ids of [from, to) in rows [base, base + block), shifted by base, with their weights; returns the ids written. */
function idsInBlock(
  ids: Int32Array,
  weights: Float32Array | null,
  from: number,
  to: number,
  base: number,
  block: number,
  send: Int32Array,
  sendF: Float32Array,
  at: number,
  wAt: number,
  k: number,
): number {
  for (let i = from; i < to; i++) {
    const id = ids[i];
    if (id >= base && id < base + block) {
      send[at + k] = id - base;
      if (weights) sendF[wAt + k] = weights[i];
      k++;
    }
  }
  return k;
}

/**
 * Columns [col, col + len) of each row b (stride floats apart) times the float inverse of the
 * length of feature f's bag b (an empty bag's row stays as it is).
 */
function scaleByLength(
  out: Float32Array,
  stride: number,
  col: number,
  len: number,
  offs: Int32Array,
  f: number,
  B: number,
): void {
  for (let b = 0; b < B; b++) {
    const n = offs[f * B + b + 1] - offs[f * B + b];
    if (n === 0) continue;
    const inv = Math.fround(1 / n);
    for (let j = 0; j < len; j++) out[b * stride + col + j] *= inv;
  }
}

/** The sparse part of `batch` a collection reads: its features, in its order (as the model's embedding group selects it). */
export function sparseBatchOf(collection: PooledEmbeddingCollection, batch: ModelBatch): SparseBatch {
  const names = collection.features.map((f) => f.name);
  const keys = batch.sparse.keys;
  const same = names.length === keys.length && names.every((n, i) => n === keys[i]);
  return same ? batch.sparse.toSparseBatch() : batch.sparse.select(names).toSparseBatch();
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
