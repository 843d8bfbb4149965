import { type BadDataReason, type BadDataReport, DataError } from '../bad_data';
import type { RawBlock } from '../raw_block';

/** Ids of a sparse feature for a block: bag r is values[sum(lengths[..r]) ..] (one per row). */
export interface SparseOutput {
  kind: 'sparse';
  values: Int32Array;
  lengths: Int32Array;
  weights: Float32Array | null;
}

/** Numbers of a dense feature: [rows, dim] row-major. */
export interface DenseOutput {
  kind: 'dense';
  values: Float32Array;
}

/** A sequence of dim-wide numbers per row: element i of row r at values[(offset(r) + i) * dim ..]. */
export interface SequenceDenseOutput {
  kind: 'sequence_dense';
  values: Float32Array;
  lengths: Int32Array;
}

/** What a feature produces for a block. */
export type FeatureOutput = SparseOutput | DenseOutput | SequenceDenseOutput;

/** One configured feature of the engine. */
export interface Feature {
  /** Output name (grouped sequence sub-features: `<sequence_name>__<feature_name>`). */
  readonly name: string;
  /** sparse: ids for an embedding table; dense: [B, dim] numbers; sequence_dense: jagged numbers. */
  readonly kind: 'sparse' | 'dense' | 'sequence_dense';
  /** Input columns it reads. */
  readonly inputs: readonly string[];
  /** Width of a dense value (dense and sequence_dense). */
  readonly dim: number;
  /** Rows of its embedding table (sparse), else 0. */
  readonly numEmbeddings: number;
  /** Table name: `embedding_name`, or `<name>_emb` as TorchEasyRec (features sharing it share the table). */
  readonly embeddingName: string;
  readonly embeddingDim: number;
  readonly pooling: 'sum' | 'mean';
  readonly isSequence: boolean;
  readonly isWeighted: boolean;
  /**
   * Builds the feature's output for a block; bad values go to ctx.fail. The output's arrays may
   * be the feature's own scratch, valid until its next featurize call: the engine copies them
   * into the batch at once.
   */
  featurize(ctx: FeaturizeContext): FeatureOutput;
}

/** A block being featurized: its rows, and the rows found bad so far. */
export class FeaturizeContext {
  readonly bad: Uint8Array;
  badCount = 0;
  /** The feature being built (for messages). */
  feature = '';
  constructor(
    readonly block: RawBlock,
    readonly report: BadDataReport,
  ) {
    this.bad = new Uint8Array(block.rows);
  }

  /** Rejects row r (once): throws under the fail policy, else marks it to be dropped. */
  fail(r: number, reason: BadDataReason, input: string, detail: string, pos?: number): void {
    if (this.bad[r]) return;
    const b = this.block;
    const err = new DataError(
      reason,
      { file: b.fileOf(r), line: b.line(r), column: b.columnAt(r, input, pos) },
      detail,
    );
    this.report.add(err);
    this.bad[r] = 1;
    this.badCount++;
  }
}

/** The input column an expression names: `user:age` -> `age` (TorchEasyRec's side:name). */
export function inputName(expression: string, featureName: string): string {
  const i = expression.indexOf(':');
  if (i < 0) return expression;
  const side = expression.slice(0, i);
  if (side === 'feature') {
    throw new Error(
      `feature "${featureName}": expression "${expression}" reads another feature's output (FG_DAG); tsrec does not support feature: inputs yet — use the raw column instead`,
    );
  }
  if (!['user', 'item', 'context', 'const'].includes(side)) {
    throw new Error(
      `feature "${featureName}": expected an expression like user:<column> (sides: user, item, context) but received "${expression}"`,
    );
  }
  return expression.slice(i + 1);
}

/** Turns per-row counts into an exclusive prefix sum of length rows + 1. */
export function offsetsOf(lengths: Int32Array): Int32Array {
  const o = new Int32Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) o[i + 1] = o[i] + lengths[i];
  return o;
}
