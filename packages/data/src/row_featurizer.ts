import { BadDataReport, type BadDataSummary, DataError } from './bad_data';
import type { Batch } from './batch';
import { type DelimitedFormat, FieldTable, type RowFrames, splitFields } from './delimited_splitter';
import type { FeatureEngine } from './feature_engine';
import { DelimitedBlock, ValueBlock } from './raw_block';
import type { RowBatch } from './row_pipeline';

/** What a featurizer needs besides the engine: the column layout and the files. */
export interface RowFeaturizerSpec {
  columns: string[];
  files: string[];
  format: DelimitedFormat;
}

/**
 * Raw row batch -> Batch: splits CSV rows into fields (or wraps Parquet columns), runs the
 * feature engine, and returns the batch with the bad rows it skipped. Runs inline or in a worker.
 */
export class RowFeaturizer {
  private readonly index: Map<string, number>;
  private table: FieldTable | null = null;

  constructor(
    readonly engine: FeatureEngine,
    readonly spec: RowFeaturizerSpec,
    private readonly policy: 'fail' | 'skip',
  ) {
    this.index = new Map(spec.columns.map((c, i) => [c, i]));
  }

  featurize(rb: RowBatch): { batch: Batch; bad: BadDataSummary } {
    const report = new BadDataReport(this.policy);
    if (rb.kind === 'values') {
      const block = new ValueBlock(
        rb.count,
        (r) => this.spec.files[rb.fileIndex[r]],
        rb.columns,
        rb.lines,
        this.spec.columns,
      );
      return { batch: this.engine.featurize(block, report), bad: report.take() };
    }
    if (!this.table || this.table.capacity < rb.count) this.table = new FieldTable(this.spec.columns.length, rb.count);
    const frames: RowFrames = { starts: rb.starts, ends: rb.ends, lines: rb.lines, count: rb.count };
    const errors = splitFields(rb.bytes, frames, this.spec.format, this.table);
    let fileIndex: ArrayLike<number> = rb.fileIndex;
    const splitErrors = errors.map(
      (e) =>
        new DataError(
          e.reason,
          { file: this.spec.files[rb.fileIndex[e.row]], line: e.line, column: e.column },
          e.message,
        ),
    );
    if (errors.length > 0) {
      const bad = new Set(errors.map((e) => e.row));
      fileIndex = Int32Array.from(Array.from(rb.fileIndex).filter((_, i) => !bad.has(i)));
    }
    const block = new DelimitedBlock(this.table, this.spec.files, fileIndex, this.index);
    if (this.policy === 'fail' && splitErrors.length > 0) {
      // Fail on the earliest bad row, whether the splitter or a feature found it.
      const probe = new BadDataReport('skip', Number.MAX_SAFE_INTEGER);
      this.engine.featurize(block, probe);
      const all = [...splitErrors, ...probe.errors()];
      const rowOf = (e: DataError) => {
        for (let k = 0; k < rb.count; k++)
          if (rb.lines[k] === e.location.line && this.spec.files[rb.fileIndex[k]] === e.location.file) return k;
        return rb.count;
      };
      all.sort((a, b) => rowOf(a) - rowOf(b));
      throw all[0];
    }
    for (const e of splitErrors) report.add(e);
    const batch = this.engine.featurize(block, report);
    return { batch, bad: report.take() };
  }
}
