import type { Rng } from './random';

/**
 * The row stage of the reader, push-based so the common path allocates nothing per row:
 * rows (a byte range of a chunk for CSV, a value array for Parquet) flow through
 * RankFilter -> ShuffleBuffer (optional) -> RowBatcher, which emits raw row batches that the
 * featurizer (inline or in a worker) turns into Batches.
 */

/** Consecutive rows copied out of their chunks, ready to send to a worker (all transferable). */
export interface CsvRowBatch {
  kind: 'csv';
  epoch: number;
  count: number;
  bytes: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  lines: Int32Array;
  fileIndex: Int32Array;
}

/** Parquet rows: one array of values per column. */
export interface ValueRowBatch {
  kind: 'values';
  epoch: number;
  count: number;
  columns: Record<string, unknown[]>;
  lines: Int32Array;
  fileIndex: Int32Array;
}

/** What a row batcher emits. */
export type RowBatch = CsvRowBatch | ValueRowBatch;

/** A row in flight: bytes[start, end) of a buffer (CSV) or one value per column (Parquet). */
export interface Row {
  bytes: Uint8Array | null;
  start: number;
  end: number;
  values: unknown[] | null;
  line: number;
  file: number;
}

/** Byte ranges of consecutive rows of one buffer (a chunk framed by frameRows). */
export interface RowRanges {
  starts: Int32Array;
  ends: Int32Array;
  lines: Int32Array;
}

/** Receives rows. */
export interface RowSink {
  push(
    bytes: Uint8Array | null,
    start: number,
    end: number,
    values: unknown[] | null,
    line: number,
    file: number,
  ): void;
  /**
   * Rows from..to-1 of `rows`, in order and increasing positions of `bytes` (optional: a sink
   * without it gets them one push at a time). The bytes may change after the call.
   */
  pushRows?(bytes: Uint8Array, rows: RowRanges, from: number, to: number, file: number): void;
  /** End of the epoch: flush what is held. */
  end(): void;
}

/**
 * Spare byte buffers for RowBatcher: a data worker sends each row batch's bytes back once it has
 * featurized them, and the next batch is copied into one of those instead of fresh memory (a
 * fresh ~1 MiB buffer per batch made the main thread's row copy 3-5x slower: page faults and
 * cold lines). Keeps at most `max`.
 */
export class ByteRecycler {
  private readonly spare: ArrayBuffer[] = [];
  constructor(private readonly max = 8) {}

  /** A buffer of at least `min` bytes (contents undefined): a spare one when one is big enough. */
  take(min: number): Buffer {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      if (this.spare[i].byteLength >= min) return Buffer.from(this.spare.splice(i, 1)[0]);
    }
    return Buffer.allocUnsafeSlow(min);
  }

  /** Hands a buffer back for reuse (the caller no longer reads or writes it). */
  give(b: ArrayBuffer): void {
    if (this.spare.length < this.max && b.byteLength > 0) this.spare.push(b);
  }

  /** Spare buffers held (for tests). */
  get size(): number {
    return this.spare.length;
  }
}

/** Copies rows into batches of `batchSize` (the last one of an epoch may be short). */
export class RowBatcher implements RowSink {
  private bytes: Buffer;
  private used = 0;
  private starts: Int32Array;
  private ends: Int32Array;
  private lines: Int32Array;
  private files: Int32Array;
  private cols: unknown[][] | null = null;
  private n = 0;
  epoch = 0;

  constructor(
    private readonly batchSize: number,
    private readonly columnNames: readonly string[] | null,
    private readonly emit: (b: RowBatch) => void,
    /** Where batch byte buffers come from (default: fresh memory). */
    private readonly allocBytes: (minBytes: number) => Buffer = (n) => Buffer.allocUnsafeSlow(n),
  ) {
    this.bytes = Buffer.allocUnsafe(batchSize * 160);
    this.starts = new Int32Array(batchSize);
    this.ends = new Int32Array(batchSize);
    this.lines = new Int32Array(batchSize);
    this.files = new Int32Array(batchSize);
    this.reset();
  }

  private reset(): void {
    this.n = 0;
    this.used = 0;
    this.bytes = this.allocBytes(Math.max(this.bytes.length, 1024));
    this.starts = new Int32Array(this.batchSize);
    this.ends = new Int32Array(this.batchSize);
    this.lines = new Int32Array(this.batchSize);
    this.files = new Int32Array(this.batchSize);
    if (this.columnNames) this.cols = this.columnNames.map(() => new Array<unknown>(this.batchSize));
  }

  push(
    bytes: Uint8Array | null,
    start: number,
    end: number,
    values: unknown[] | null,
    line: number,
    file: number,
  ): void {
    const k = this.n;
    if (values && this.cols) {
      for (let c = 0; c < this.cols.length; c++) this.cols[c][k] = values[c];
    } else if (bytes) {
      const len = end - start;
      if (this.used + len + 1 > this.bytes.length) {
        const grown = this.allocBytes(Math.max(this.bytes.length * 2, this.used + len + 1));
        this.bytes.copy(grown, 0, 0, this.used);
        this.bytes = grown;
      }
      if (Buffer.isBuffer(bytes)) bytes.copy(this.bytes, this.used, start, end);
      else this.bytes.set(bytes.subarray(start, end), this.used);
      this.starts[k] = this.used;
      this.ends[k] = this.used + len;
      this.bytes[this.used + len] = 10;
      this.used += len + 1;
    }
    this.lines[k] = line;
    this.files[k] = file;
    this.n = k + 1;
    if (this.n === this.batchSize) this.flush();
  }

  /**
   * CSV rows in bulk: each stretch of rows that fits the batch is copied with one copy of the span
   * from its first row's start to its last row's end (what lies between rows — line breaks, blank
   * lines — comes along unused; rows are addressed by starts/ends).
   */
  pushRows(bytes: Uint8Array, rows: RowRanges, from: number, to: number, file: number): void {
    if (this.cols) {
      for (let k = from; k < to; k++) this.push(bytes, rows.starts[k], rows.ends[k], null, rows.lines[k], file);
      return;
    }
    while (from < to) {
      const m = Math.min(to - from, this.batchSize - this.n);
      const base = rows.starts[from];
      const span = rows.ends[from + m - 1] - base;
      if (this.used + span > this.bytes.length) {
        const grown = this.allocBytes(Math.max(this.bytes.length * 2, this.used + span));
        this.bytes.copy(grown, 0, 0, this.used);
        this.bytes = grown;
      }
      this.bytes.set(bytes.subarray(base, base + span), this.used);
      const shift = this.used - base;
      let k = this.n;
      for (let r = from; r < from + m; r++, k++) {
        this.starts[k] = rows.starts[r] + shift;
        this.ends[k] = rows.ends[r] + shift;
        this.lines[k] = rows.lines[r];
        this.files[k] = file;
      }
      this.n = k;
      this.used += span;
      from += m;
      if (this.n === this.batchSize) this.flush();
    }
  }

  end(): void {
    if (this.n > 0) this.flush();
  }

  private flush(): void {
    const n = this.n;
    if (this.cols && this.columnNames) {
      const columns: Record<string, unknown[]> = {};
      this.columnNames.forEach((name, c) => (columns[name] = this.cols![c].slice(0, n)));
      this.emit({
        kind: 'values',
        epoch: this.epoch,
        count: n,
        columns,
        lines: this.lines.slice(0, n),
        fileIndex: this.files.slice(0, n),
      });
    } else {
      this.emit({
        kind: 'csv',
        epoch: this.epoch,
        count: n,
        bytes: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used),
        starts: n === this.batchSize ? this.starts : this.starts.slice(0, n),
        ends: n === this.batchSize ? this.ends : this.ends.slice(0, n),
        lines: n === this.batchSize ? this.lines : this.lines.slice(0, n),
        fileIndex: n === this.batchSize ? this.files : this.files.slice(0, n),
      });
    }
    this.reset();
  }
}

/**
 * Keeps the rows of one rank: row g (counting from 0 in the epoch) belongs to rank
 * g % worldSize. So that every rank makes the same number of steps, each keeps exactly
 * floor(N / worldSize) rows of an epoch of N rows: a rank holds its latest row back and drops it
 * at the end of the epoch if it has one row too many (at most worldSize - 1 rows per epoch are
 * dropped overall; none when N is a multiple of worldSize). Without `equalize` every row is kept
 * (the ranks' parts make the whole epoch; counts differ by at most one).
 */
export class RankFilter implements RowSink {
  private seen = 0;
  private mine = 0;
  private held: Row | null = null;

  constructor(
    private readonly rank: number,
    private readonly worldSize: number,
    private readonly next: RowSink,
    private readonly equalize = true,
  ) {}

  push(
    bytes: Uint8Array | null,
    start: number,
    end: number,
    values: unknown[] | null,
    line: number,
    file: number,
  ): void {
    const g = this.seen++;
    if (this.worldSize === 1) return this.next.push(bytes, start, end, values, line, file);
    if (g % this.worldSize !== this.rank) return;
    if (!this.equalize) return this.next.push(bytes, start, end, values, line, file);
    this.mine++;
    if (this.held) this.release();
    this.held = {
      bytes: bytes ? Buffer.from(bytes.subarray(start, end)) : null,
      start: 0,
      end: end - start,
      values,
      line,
      file,
    };
  }

  pushRows(bytes: Uint8Array, rows: RowRanges, from: number, to: number, file: number): void {
    if (this.worldSize === 1 && this.next.pushRows) {
      this.seen += to - from;
      this.next.pushRows(bytes, rows, from, to, file);
      return;
    }
    for (let k = from; k < to; k++) this.push(bytes, rows.starts[k], rows.ends[k], null, rows.lines[k], file);
  }

  private release(): void {
    const h = this.held!;
    this.held = null;
    this.next.push(h.bytes, h.start, h.end, h.values, h.line, h.file);
  }

  end(): void {
    if (this.held) {
      if (this.mine <= Math.floor(this.seen / this.worldSize)) this.release();
      else this.held = null;
    }
    this.seen = 0;
    this.mine = 0;
    this.next.end();
  }
}

/**
 * TensorFlow-style shuffle buffer: fills up to `size` rows, then each new row replaces a random
 * resident, which goes on. Deterministic for a seed.
 */
export class ShuffleBuffer implements RowSink {
  private rows: Row[] = [];

  constructor(
    private readonly size: number,
    private readonly rng: Rng,
    private readonly next: RowSink,
  ) {}

  push(
    bytes: Uint8Array | null,
    start: number,
    end: number,
    values: unknown[] | null,
    line: number,
    file: number,
  ): void {
    const row: Row = {
      bytes: bytes ? Buffer.from(bytes.subarray(start, end)) : null,
      start: 0,
      end: end - start,
      values,
      line,
      file,
    };
    if (this.rows.length < this.size) {
      this.rows.push(row);
      return;
    }
    const j = this.rng.int(this.size);
    const out = this.rows[j];
    this.rows[j] = row;
    this.next.push(out.bytes, out.start, out.end, out.values, out.line, out.file);
  }

  end(): void {
    this.rng.shuffle(this.rows);
    for (const r of this.rows) this.next.push(r.bytes, r.start, r.end, r.values, r.line, r.file);
    this.rows = [];
    this.next.end();
  }
}
