import { packStrings } from '@tsrec/native';
import type { DenseOutput, Feature, FeaturizeContext, SparseOutput } from './feature';
import { assembleIds } from './id_feature';
import type { IdMapper } from './id_mapper';
import { bucketize, type Normalizer } from './normalizer';
import { tokenize, tokenText } from './tokens';

/** How looked-up numbers of several keys combine. */
export type Combiner = 'sum' | 'mean' | 'min' | 'max';

/**
 * LookupFeature: the map input holds `k1:v1<\x1d>k2:v2`; the key input holds one or more keys.
 * Discrete (need_discrete or need_key): the found values (`key_value` with need_key) are ids for
 * the mapper. Otherwise the found numbers are combined into one value (missing: default),
 * normalized, and optionally bucketized.
 */
export class LookupFeature implements Feature {
  readonly dim = 1;
  readonly isSequence = false;
  readonly isWeighted = false;
  readonly kind: 'sparse' | 'dense';
  constructor(
    readonly name: string,
    private readonly mapInput: string,
    private readonly keyInput: string,
    private readonly o: {
      separator: string;
      discrete: boolean;
      needKey: boolean;
      mapper: IdMapper | null;
      combiner: Combiner;
      missing: number;
      normalizer: Normalizer | null;
      boundaries: Float64Array | null;
    },
    readonly embeddingName: string,
    readonly embeddingDim: number,
    readonly pooling: 'sum' | 'mean',
  ) {
    this.kind = o.discrete || o.boundaries ? 'sparse' : 'dense';
  }
  get inputs(): readonly string[] {
    return [this.mapInput, this.keyInput];
  }
  get numEmbeddings(): number {
    if (this.o.discrete) return this.o.mapper!.numEmbeddings;
    return this.o.boundaries ? this.o.boundaries.length + 1 : 0;
  }

  featurize(ctx: FeaturizeContext): DenseOutput | SparseOutput {
    const rows = ctx.block.rows;
    const maps = tokenize(ctx.block.column(this.mapInput), rows, '\u001d');
    const keys = tokenize(ctx.block.column(this.keyInput), rows, this.o.separator);
    const found: string[] = [];
    const rowOffsets = new Int32Array(rows + 1);
    const dense = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const m = new Map<string, string>();
      for (let t = maps.rowOffsets[r]; t < maps.rowOffsets[r + 1]; t++) {
        const kv = tokenText(maps, t);
        const i = kv.lastIndexOf(':');
        if (i > 0) m.set(kv.slice(0, i), kv.slice(i + 1));
      }
      let acc = NaN;
      let n = 0;
      for (let t = keys.rowOffsets[r]; t < keys.rowOffsets[r + 1]; t++) {
        const k = tokenText(keys, t);
        const v = m.get(k);
        if (v === undefined) continue;
        if (this.o.discrete) {
          found.push(this.o.needKey ? `${k}_${v}` : v);
          continue;
        }
        const x = Number(v);
        if (Number.isNaN(x)) {
          ctx.fail(
            r,
            'bad_number',
            this.mapInput,
            `feature "${this.name}": expected a number for key ${JSON.stringify(k)} in column "${this.mapInput}" but found ${JSON.stringify(v)}`,
          );
          continue;
        }
        n++;
        const c = this.o.combiner;
        acc = n === 1 ? x : c === 'min' ? Math.min(acc, x) : c === 'max' ? Math.max(acc, x) : acc + x;
      }
      rowOffsets[r + 1] = found.length;
      dense[r] = n === 0 ? this.o.missing : this.o.combiner === 'mean' ? acc / n : acc;
    }
    if (this.o.discrete) {
      const p = packStrings(found);
      return assembleIds(
        { bytes: p.bytes, starts: p.starts, ends: p.ends, rowOffsets, fromBytes: false },
        this.o.mapper!,
        ctx,
        this.mapInput,
        null,
      );
    }
    if (this.o.normalizer) for (let r = 0; r < rows; r++) dense[r] = this.o.normalizer(dense[r]);
    if (!this.o.boundaries) return { kind: 'dense', values: Float32Array.from(dense) };
    const ids = new Int32Array(rows);
    for (let r = 0; r < rows; r++) ids[r] = bucketize(this.o.boundaries, dense[r]);
    return { kind: 'sparse', values: ids, lengths: new Int32Array(rows).fill(1), weights: null };
  }
}
