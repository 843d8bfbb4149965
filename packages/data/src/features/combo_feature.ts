import { packStrings } from '@tsrec/native';
import type { Feature, FeaturizeContext, SparseOutput } from './feature';
import { assembleIds } from './id_feature';
import type { IdMapper } from './id_mapper';
import { tokenize, tokenText } from './tokens';

/**
 * ComboFeature: the cross product of the (multi-value) tokens of two or more inputs, each
 * combination joined with "_" (`age=3, cate=[7, 9]` -> `3_7`, `3_9`), then hashed or looked up.
 * A row where any input is missing has no combination (then default_value applies).
 */
export class ComboFeature implements Feature {
  readonly kind = 'sparse' as const;
  readonly dim = 0;
  readonly isSequence = false;
  readonly isWeighted = false;
  constructor(
    readonly name: string,
    readonly inputs: readonly string[],
    private readonly separator: string,
    private readonly mapper: IdMapper,
    readonly embeddingName: string,
    readonly embeddingDim: number,
    readonly pooling: 'sum' | 'mean',
  ) {}
  get numEmbeddings(): number {
    return this.mapper.numEmbeddings;
  }

  featurize(ctx: FeaturizeContext): SparseOutput {
    const rows = ctx.block.rows;
    const toks = this.inputs.map((i) => tokenize(ctx.block.column(i), rows, this.separator));
    const out: string[] = [];
    const rowOffsets = new Int32Array(rows + 1);
    for (let r = 0; r < rows; r++) {
      let combos = [''];
      for (const t of toks) {
        const next: string[] = [];
        for (let k = t.rowOffsets[r]; k < t.rowOffsets[r + 1]; k++) {
          const s = tokenText(t, k);
          for (const c of combos) next.push(c === '' ? s : `${c}_${s}`);
        }
        combos = next;
        if (combos.length === 0) break;
      }
      for (const c of combos) out.push(c);
      rowOffsets[r + 1] = out.length;
    }
    const p = packStrings(out);
    return assembleIds(
      { bytes: p.bytes, starts: p.starts, ends: p.ends, rowOffsets, fromBytes: false },
      this.mapper,
      ctx,
      this.inputs[0],
      null,
    );
  }
}
