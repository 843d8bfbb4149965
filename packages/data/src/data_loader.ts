import { type BadDataPolicy, BadDataReport, type BadDataSummary, formatBadDataSummary } from './bad_data';
import { type Batch, concatBatches, sliceBatch } from './batch';
import { delimitedFormat, type DelimitedFormat } from './delimited_splitter';
import { FeatureEngine } from './feature_engine';
import type { FeatureEngineOptions } from './feature_spec';
import { expandInputPaths } from './input_files';
import { openParquet, type ParquetFile, pushParquetRows } from './parquet_source';
import { Rng } from './random';
import { RowFeaturizer } from './row_featurizer';
import { ByteRecycler, RankFilter, type RowBatch, RowBatcher, type RowSink, ShuffleBuffer } from './row_pipeline';
import { pushDelimitedRowsAsync, readHeader } from './row_source';
import { WorkerPool } from './worker_pool';

/** Options of a data loader (DataConfig fields in camelCase, plus run settings). */
export interface DataLoaderOptions {
  /** Files, directories or globs; a string may list several, comma-separated. */
  inputPath: string | string[];
  /** The feature engine, or its options (needed when numWorkers > 0: workers build their own). */
  features: FeatureEngineOptions;
  batchSize: number;
  /** 'CsvDataset' | 'ParquetDataset'; default from the first file's extension (.parquet). */
  datasetType?: 'CsvDataset' | 'ParquetDataset';
  /** CSV field delimiter (default ','; '\t' for .tsv files). */
  delimiter?: string;
  /** CSV quote character, or null for none (default '"'). */
  quote?: string | null;
  /** CSV: the first line is a header (default: true unless inputFields is given). */
  withHeader?: boolean;
  /** CSV column names when the files have no header (DataConfig.input_fields). */
  inputFields?: string[];
  /** Passes over the data (default 1). */
  numEpochs?: number;
  /** Shuffle rows with a buffer (default false: eval order). */
  shuffle?: boolean;
  shuffleBufferSize?: number;
  seed?: number;
  /** Drop the last, short batch of each epoch. */
  dropRemainder?: boolean;
  /** This process's part of the data: row g goes to rank g % worldSize (equal row counts). */
  rank?: number;
  worldSize?: number;
  /**
   * With several ranks, keep every rank's row count at floor(N / worldSize) per epoch (default
   * true: training ranks step together); false keeps all rows (evaluation: the ranks' parts make
   * the whole input).
   */
  equalRankRows?: boolean;
  badDataPolicy?: BadDataPolicy;
  /** Worker threads that parse and featurize (0: in this thread). */
  numWorkers?: number;
  /**
   * Scheduling niceness of the worker threads (Linux: per thread; 0 keeps the process's; default
   * 19, the lowest priority). Training's native kernels split each call statically across all
   * cores; a data worker that takes a core mid-call stalls the whole call, so workers run when a
   * core would otherwise idle (README, "Data workers and cores").
   */
  workerNiceness?: number;
  /**
   * Parquet with workers: decode row groups in the workers, several ahead, and send the rows back
   * through the shuffle/rank stage (default false: decode here). Measured slower on 2 shared CPUs
   * (the rows cross threads twice); see README.
   */
  parquetDecodeInWorkers?: boolean;
  /** Batches being made or waiting, at most (default 2 per worker + 2). */
  prefetch?: number;
  /** Called after the last batch of each epoch with the bad rows skipped in it. */
  onEpochEnd?: (epoch: number, badData: BadDataSummary) => void;
}

/** Workers yield the CPU to training (see DataLoaderOptions.workerNiceness). */
export const DEFAULT_WORKER_NICENESS = 19;

type Item = { kind: 'rows'; rb: RowBatch } | { kind: 'epoch_end'; epoch: number };

/**
 * Reads the input as Batches: files -> rows -> (rank filter, shuffle buffer) -> row batches ->
 * parse + featurize (inline or in workers, results in order) -> exact-size batches.
 * Iterate with `for await`; `close()` stops the workers (also on break or error).
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly files: string[];
  readonly columns: string[];
  readonly engine: FeatureEngine;
  private readonly format: DelimitedFormat;
  private readonly parquet: boolean;
  private readonly report: BadDataReport;
  private pool: WorkerPool | null = null;
  // Row-batch byte buffers the workers hand back, reused by the RowBatcher.
  private readonly recycler = new ByteRecycler();
  private parquetFiles: ParquetFile[] = [];

  constructor(readonly options: DataLoaderOptions) {
    const o = options;
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
      throw new TypeError(`Expected a positive integer for batch_size but received ${o.batchSize}`);
    const rank = o.rank ?? 0,
      world = o.worldSize ?? 1;
    if (!Number.isInteger(world) || world < 1 || !Number.isInteger(rank) || rank < 0 || rank >= world) {
      throw new RangeError(`Expected 0 <= rank < world_size but received rank ${rank}, world_size ${world}`);
    }
    this.files = expandInputPaths(o.inputPath);
    this.engine = new FeatureEngine(o.features);
    this.report = new BadDataReport(o.badDataPolicy ?? 'fail');
    this.parquet = o.datasetType ? o.datasetType === 'ParquetDataset' : this.files[0].endsWith('.parquet');
    const tsv = /\.tsv(\.gz)?$/.test(this.files[0]);
    this.format = delimitedFormat(o.delimiter ?? (tsv ? '\t' : ','), o.quote === undefined ? '"' : o.quote);
    if (this.parquet) {
      this.parquetFiles = this.files.map(openParquet);
      this.columns = this.engine.requiredColumns();
    } else if (o.inputFields && o.inputFields.length > 0 && !o.withHeader) {
      this.columns = o.inputFields.slice();
    } else {
      this.columns = readHeader(this.files[0], this.format);
      for (const f of this.files.slice(1)) {
        const h = readHeader(f, this.format);
        if (h.join('\u0000') !== this.columns.join('\u0000'))
          throw new Error(
            `${f}:1:1: header [${h.join(', ')}] differs from ${this.files[0]}'s [${this.columns.join(', ')}]`,
          );
      }
    }
    for (const c of this.engine.requiredColumns()) {
      if (!this.columns.includes(c))
        throw new Error(`${this.files[0]}: missing column "${c}" (the input has ${this.columns.join(', ')})`);
    }
  }

  /** Bad rows skipped since the last epoch end (skip policy). */
  badData(): BadDataSummary {
    return this.report.peek();
  }

  /** Raw row batches in order, with an epoch marker after each epoch. */
  private async *items(workerPool: WorkerPool | null): AsyncGenerator<Item> {
    const o = this.options;
    const queue: RowBatch[] = [];
    const batcher = new RowBatcher(
      o.batchSize,
      this.parquet ? this.columns : null,
      (rb) => queue.push(rb),
      (n) => this.recycler.take(n),
    );
    const rng = new Rng(o.seed ?? 0);
    let sink: RowSink = batcher;
    if (o.shuffle) sink = new ShuffleBuffer(o.shuffleBufferSize ?? 10000, rng, sink);
    sink = new RankFilter(o.rank ?? 0, o.worldSize ?? 1, sink, o.equalRankRows ?? true);
    const withHeader = o.withHeader ?? !(o.inputFields && o.inputFields.length > 0);
    for (let epoch = 0; epoch < (o.numEpochs ?? 1); epoch++) {
      batcher.epoch = epoch;
      const order = this.files.map((_, i) => i);
      if (o.shuffle) new Rng((o.seed ?? 0) * 1000003 + epoch).shuffle(order);
      for (const fi of order) {
        if (this.parquet) {
          const pf = this.parquetFiles[fi];
          const pool = o.parquetDecodeInWorkers ? workerPool : null;
          // parquetDecodeInWorkers: row groups decode in the workers, several at a time, ahead of the one being pushed.
          const rows = pool
            ? pushParquetRows(
                pf,
                fi,
                this.columns,
                sink,
                (start, n) => pool.decodeParquet(pf.path, this.columns, start, n),
                2 * (o.numWorkers ?? 1),
              )
            : pushParquetRows(pf, fi, this.columns, sink);
          for await (const _ of rows) while (queue.length) yield { kind: 'rows', rb: queue.shift()! };
        } else {
          for await (const _ of pushDelimitedRowsAsync(this.files[fi], fi, this.format, withHeader, sink))
            while (queue.length) yield { kind: 'rows', rb: queue.shift()! };
        }
      }
      sink.end();
      while (queue.length) yield { kind: 'rows', rb: queue.shift()! };
      yield { kind: 'epoch_end', epoch };
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const o = this.options;
    const B = o.batchSize;
    const workers = o.numWorkers ?? 0;
    const policy = o.badDataPolicy ?? 'fail';
    const spec = { columns: this.columns, files: this.files, format: this.format };
    const inline = workers === 0 ? new RowFeaturizer(this.engine, spec, policy) : null;
    // This iteration keeps its own reference: after close() (this.pool = null) its tasks are
    // refused by the closed pool ("… pool is closed") instead of failing on a null pool.
    const pool =
      workers > 0
        ? new WorkerPool(
            workers,
            { features: o.features, spec, policy, niceness: o.workerNiceness ?? DEFAULT_WORKER_NICENESS },
            (b) => this.recycler.give(b),
          )
        : null;
    this.pool = pool;
    const prefetch = o.prefetch ?? 2 * workers + 2;
    const pending: { epochEnd?: number; result?: Promise<{ batch: Batch; bad: BadDataSummary }> }[] = [];
    let carry: Batch[] = [];
    let carryRows = 0;
    let epochRows = 0; // rows yielded in the current epoch
    const src = this.items(pool);
    let done = false;
    try {
      for (;;) {
        // Keep up to `prefetch` batches being made.
        while (!done && pending.filter((p) => p.result).length < Math.max(1, prefetch)) {
          const it = await src.next();
          if (it.done) {
            done = true;
            break;
          }
          const v = it.value;
          if (v.kind === 'epoch_end') pending.push({ epochEnd: v.epoch });
          else {
            const result = inline ? Promise.resolve(inline.featurize(v.rb)) : pool!.run(v.rb);
            result.catch(() => undefined); // awaited in order below; this only silences early rejections
            pending.push({ result });
          }
          if (inline) break;
        }
        const head = pending.shift();
        if (!head) break;
        if (head.epochEnd !== undefined) {
          if (carryRows > 0 && !o.dropRemainder) {
            epochRows += carryRows;
            yield concatBatches(carry);
          }
          carry = [];
          carryRows = 0;
          const bad = this.report.take();
          // An epoch without a batch would make a step-bounded loop spin forever; say why instead.
          if (epochRows === 0) throw new Error(this.emptyEpochMessage(head.epochEnd, bad));
          epochRows = 0;
          o.onEpochEnd?.(head.epochEnd, bad);
          continue;
        }
        const { batch, bad } = await head.result!;
        this.report.merge(bad);
        if (carryRows === 0 && batch.batchSize === B) {
          epochRows += B;
          yield batch;
          continue;
        }
        if (batch.batchSize === 0) continue;
        carry.push(batch);
        carryRows += batch.batchSize;
        while (carryRows >= B) {
          const all = concatBatches(carry);
          epochRows += B;
          yield sliceBatch(all, 0, B);
          carryRows -= B;
          carry = carryRows > 0 ? [sliceBatch(all, B, all.batchSize)] : [];
        }
      }
    } finally {
      await this.close();
      await src.return(undefined);
    }
  }

  /** Why epoch `epoch` yielded no batch: no rows at all, all skipped, or fewer than a batch dropped. */
  private emptyEpochMessage(epoch: number, bad: BadDataSummary): string {
    const o = this.options;
    const inputs = this.files.length === 1 ? this.files[0] : `${this.files.length} files (${this.files[0]}, …)`;
    const why =
      bad.total > 0
        ? `every row was malformed (malformed_row_policy "skip"): ${formatBadDataSummary(bad)}`
        : o.dropRemainder
          ? `it holds no rows (after the header), or fewer than batch_size ${o.batchSize} and drop_remainder drops them`
          : 'it holds no rows (after the header, if any)';
    return `Expected rows in epoch ${epoch} of ${inputs} but it gave none: ${why}`;
  }

  /** Stops the worker threads (idempotent). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.close();
  }
}

/** Builds a loader; shorthand for `new DataLoader(options)`. */
export function createDataLoader(options: DataLoaderOptions): DataLoader {
  return new DataLoader(options);
}
