import { parseNumber } from '../number_parser';
import type { DenseOutput, Feature, FeaturizeContext, SparseOutput } from './feature';
import { bucketize } from './normalizer';
import { tokenize } from './tokens';

/** ExprFeature: one number per row from an expression over numeric inputs (missing inputs: default). */
export class ExprFeature implements Feature {
  readonly dim = 1;
  readonly isSequence = false;
  readonly isWeighted = false;
  readonly kind: 'sparse' | 'dense';
  constructor(
    readonly name: string,
    readonly inputs: readonly string[],
    private readonly fn: (vars: ArrayLike<number>) => number,
    private readonly missing: number,
    private readonly boundaries: Float64Array | null,
    readonly embeddingName: string,
    readonly embeddingDim: number,
    readonly pooling: 'sum' | 'mean',
  ) {
    this.kind = boundaries ? 'sparse' : 'dense';
  }
  get numEmbeddings(): number {
    return this.boundaries ? this.boundaries.length + 1 : 0;
  }

  featurize(ctx: FeaturizeContext): DenseOutput | SparseOutput {
    const rows = ctx.block.rows;
    const toks = this.inputs.map((i) => tokenize(ctx.block.column(i), rows, ''));
    const vars = new Float64Array(this.inputs.length);
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < toks.length; k++) {
        const t = toks[k];
        const s = t.rowOffsets[r];
        if (s === t.rowOffsets[r + 1]) {
          vars[k] = this.missing;
          continue;
        }
        const v = parseNumber(t.bytes, t.starts[s], t.ends[s]);
        if (Number.isNaN(v)) {
          const text = Buffer.from(t.bytes.buffer, t.bytes.byteOffset + t.starts[s], t.ends[s] - t.starts[s]).toString(
            'utf8',
          );
          ctx.fail(
            r,
            'bad_number',
            this.inputs[k],
            `feature "${this.name}": expected a number in column "${this.inputs[k]}" but found ${JSON.stringify(text)}`,
            t.fromBytes ? t.starts[s] : undefined,
          );
        }
        vars[k] = v;
      }
      out[r] = this.fn(vars);
    }
    if (!this.boundaries) return { kind: 'dense', values: Float32Array.from(out) };
    const ids = new Int32Array(rows);
    for (let r = 0; r < rows; r++) ids[r] = bucketize(this.boundaries, out[r]);
    return { kind: 'sparse', values: ids, lengths: new Int32Array(rows).fill(1), weights: null };
  }
}
