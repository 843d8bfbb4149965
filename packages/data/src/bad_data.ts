/**
 * Bad input rows: a policy (fail on the first one, or skip and count), the error that names
 * file:line:column, and the per-epoch report of counts per reason with the first examples.
 */

/** What to do with a malformed row. */
export type BadDataPolicy = 'fail' | 'skip';

/** Why a row was rejected. */
export type BadDataReason =
  | 'ragged_row'
  | 'invalid_utf8'
  | 'unterminated_quote'
  | 'bad_number'
  | 'id_out_of_range'
  | 'missing_value'
  | 'bad_weight'
  | 'bad_label'
  | 'bad_row';

/** Where a bad value is: file, 1-based line (or row for Parquet) and column. */
export interface DataLocation {
  file: string;
  line: number;
  column: number;
}

/** A malformed input, with its location in the message: `file:line:column: what`. */
export class DataError extends Error {
  readonly reason: BadDataReason;
  readonly location: DataLocation;
  constructor(reason: BadDataReason, location: DataLocation, detail: string) {
    super(`${location.file}:${location.line}:${location.column}: ${detail}`);
    this.name = 'DataError';
    this.reason = reason;
    this.location = location;
  }
}

/** Counts of skipped rows per reason, and the first few messages. */
export interface BadDataSummary {
  total: number;
  counts: Partial<Record<BadDataReason, number>>;
  examples: string[];
}

/** Collects bad rows under a policy: throws under 'fail', counts under 'skip'. */
export class BadDataReport {
  readonly policy: BadDataPolicy;
  private readonly maxExamples: number;
  private summary: BadDataSummary = { total: 0, counts: {}, examples: [] };
  private kept: DataError[] = [];

  constructor(policy: BadDataPolicy = 'fail', maxExamples = 5) {
    if (policy !== 'fail' && policy !== 'skip')
      throw new TypeError(`Expected "fail" or "skip" for bad_data_policy but received ${JSON.stringify(policy)}`);
    this.policy = policy;
    this.maxExamples = maxExamples;
  }

  /** Records one bad row; throws it under the 'fail' policy. */
  add(err: DataError): void {
    if (this.policy === 'fail') throw err;
    this.summary.total++;
    this.summary.counts[err.reason] = (this.summary.counts[err.reason] ?? 0) + 1;
    if (this.summary.examples.length < this.maxExamples) {
      this.summary.examples.push(err.message);
      this.kept.push(err);
    }
  }

  /** The first recorded errors themselves (up to the example limit). */
  errors(): DataError[] {
    return this.kept.slice();
  }

  /** Merges a summary (e.g. from a worker). */
  merge(s: BadDataSummary): void {
    this.summary.total += s.total;
    for (const [k, v] of Object.entries(s.counts)) {
      const r = k as BadDataReason;
      this.summary.counts[r] = (this.summary.counts[r] ?? 0) + (v ?? 0);
    }
    for (const e of s.examples) if (this.summary.examples.length < this.maxExamples) this.summary.examples.push(e);
  }

  /** The counts so far, and resets them (called at the end of each epoch). */
  take(): BadDataSummary {
    const s = this.summary;
    this.summary = { total: 0, counts: {}, examples: [] };
    this.kept = [];
    return s;
  }

  /** The counts so far, without resetting. */
  peek(): BadDataSummary {
    return { total: this.summary.total, counts: { ...this.summary.counts }, examples: this.summary.examples.slice() };
  }
}

/** One line for logs: "skipped 3 bad rows (ragged_row: 2, bad_number: 1); first: a.csv:4:1: ...". */
export function formatBadDataSummary(s: BadDataSummary): string {
  if (s.total === 0) return 'no bad rows';
  const counts = Object.entries(s.counts)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `skipped ${s.total} bad row${s.total === 1 ? '' : 's'} (${counts}); first: ${s.examples.join(' | ')}`;
}
