import { hashIdFields, type HashIdFieldsOutput } from '@tsrec/native';
import { nativeFieldKernels } from '../native_fields';
import { parseNumber } from '../number_parser';
import type { Feature, FeaturizeContext, SparseOutput } from './feature';
import { HashMapper, type IdMapper } from './id_mapper';
import { type Tokens, tokenize, tokenText } from './tokens';

/** Settings shared by IdFeature, SequenceIdFeature and the id side of other features. */
export interface IdFeatureOptions {
  name: string;
  input: string;
  mapper: IdMapper;
  /** Multi-value separator of a field ('' for single values). */
  separator: string;
  weighted: boolean;
  /** Keep at most this many ids per row (value_dim = 1 keeps one). 0: all. */
  maxValues: number;
  embeddingName: string;
  embeddingDim: number;
  pooling: 'sum' | 'mean';
  /** Sequence: split by this delimiter first and keep at most sequenceLength elements. */
  sequence?: { delim: string; length: number };
  /**
   * FG_NONE weighted ids in TorchEasyRec's columns: ids in `input` (`<name>__values`), their
   * weights in this column (`<name>__weights`), both split by the separator, equal counts.
   */
  weightsInput?: string;
}

/** Categorical ids: tokens of a column mapped to embedding rows (see id_mapper.ts). */
export class IdFeature implements Feature {
  readonly kind = 'sparse' as const;
  readonly dim = 0;
  readonly inputs: readonly string[];
  /** The separator byte for the native path (-1: single values), or undefined where it does not apply. */
  private readonly nativeSeparator: number | undefined;
  /** The native path's output arrays, reused batch after batch (the engine copies outputs out). */
  private readonly scratch: HashIdFieldsOutput = { values: new Int32Array(0), lengths: new Int32Array(0) };
  constructor(private readonly o: IdFeatureOptions) {
    this.inputs = o.weightsInput ? [o.input, o.weightsInput] : [o.input];
    const plain = !o.sequence && !o.weighted && !o.weightsInput;
    if (plain && o.separator === '') this.nativeSeparator = -1;
    else if (plain && Buffer.byteLength(o.separator) === 1) this.nativeSeparator = o.separator.charCodeAt(0);
  }
  get name(): string {
    return this.o.name;
  }
  get numEmbeddings(): number {
    return this.o.mapper.numEmbeddings;
  }
  get embeddingName(): string {
    return this.o.embeddingName;
  }
  get embeddingDim(): number {
    return this.o.embeddingDim;
  }
  get pooling(): 'sum' | 'mean' {
    return this.o.pooling;
  }
  get isSequence(): boolean {
    return !!this.o.sequence;
  }
  get isWeighted(): boolean {
    return this.o.weighted;
  }

  featurize(ctx: FeaturizeContext): SparseOutput {
    const o = this.o;
    const rows = ctx.block.rows;
    // Hashed ids straight from CSV fields: tokenize, truncate, hash and default-fill natively.
    if (this.nativeSeparator !== undefined && o.mapper instanceof HashMapper && nativeFieldKernels()) {
      const col = ctx.block.column(o.input);
      if (col && col.kind === 'bytes') {
        const { values, lengths } = hashIdFields(
          col.bytes,
          col.starts,
          col.ends,
          {
            separator: this.nativeSeparator,
            maxValues: o.maxValues,
            numBuckets: o.mapper.numEmbeddings,
            defaultId: o.mapper.defaultId,
          },
          this.scratch,
        );
        return { kind: 'sparse', values, lengths, weights: null };
      }
    }
    let tok = tokenize(ctx.block.column(o.input), rows, o.sequence ? o.sequence.delim : o.separator);
    // A sequence element holds one id (value_dim 1, TorchEasyRec's default for sequences): the first of its values.
    if (o.sequence && o.separator !== '') firstValues(tok, o.separator);
    let weights: Float32Array | null = null;
    if (o.weightsInput)
      weights = columnWeights(
        tok,
        tokenize(ctx.block.column(o.weightsInput), rows, o.separator),
        ctx,
        o.input,
        o.weightsInput,
      );
    else if (o.weighted) weights = splitWeights(tok, ctx, o.input);
    const limit = o.sequence ? o.sequence.length : o.maxValues;
    if (limit > 0) {
      const t = truncateTokens(tok, limit);
      if (weights && t !== tok) weights = truncateWeights(tok, t, weights);
      tok = t;
    }
    return assembleIds(tok, o.mapper, ctx, o.input, weights);
  }
}

/** Maps tokens to ids and fills missing rows with the default id (weight 1). */
export function assembleIds(
  tok: Tokens,
  mapper: IdMapper,
  ctx: FeaturizeContext,
  input: string,
  weights: Float32Array | null,
): SparseOutput {
  const rows = tok.rowOffsets.length - 1;
  const n = tok.starts.length;
  const ids = new Int32Array(n);
  mapper.map(tok, ctx, input, ids);
  const lengths = new Int32Array(rows);
  const ro = tok.rowOffsets;
  const def = mapper.defaultId;
  let missing = 0;
  for (let r = 0; r < rows; r++) {
    lengths[r] = ro[r + 1] - ro[r];
    if (lengths[r] === 0) missing++;
  }
  if (def === null || missing === 0) return { kind: 'sparse', values: ids, lengths, weights };
  const values = new Int32Array(n + missing);
  const w = weights ? new Float32Array(n + missing) : null;
  let at = 0;
  for (let r = 0; r < rows; r++) {
    const s = ro[r],
      e = ro[r + 1];
    if (s === e) {
      values[at] = def;
      if (w) w[at] = 1;
      at++;
      lengths[r] = 1;
    } else {
      values.set(ids.subarray(s, e), at);
      if (w) w.set(weights!.subarray(s, e), at);
      at += e - s;
    }
  }
  return { kind: 'sparse', values, lengths, weights: w };
}

/** Keeps at most `limit` tokens per row (the first ones). */
export function truncateTokens(tok: Tokens, limit: number): Tokens {
  const ro = tok.rowOffsets;
  const rows = ro.length - 1;
  let over = false;
  for (let r = 0; r < rows && !over; r++) over = ro[r + 1] - ro[r] > limit;
  if (!over) return tok;
  const starts: number[] = [];
  const ends: number[] = [];
  const rowOffsets = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    const e = Math.min(ro[r + 1], ro[r] + limit);
    for (let t = ro[r]; t < e; t++) {
      starts.push(tok.starts[t]);
      ends.push(tok.ends[t]);
    }
    rowOffsets[r + 1] = starts.length;
  }
  return {
    bytes: tok.bytes,
    starts: Int32Array.from(starts),
    ends: Int32Array.from(ends),
    rowOffsets,
    fromBytes: tok.fromBytes,
  };
}

/** Splits `id:weight` tokens in place (the token keeps the id part) and returns the weights. */
function splitWeights(tok: Tokens, ctx: FeaturizeContext, input: string): Float32Array {
  const w = new Float32Array(tok.starts.length);
  const ro = tok.rowOffsets;
  const b = tok.bytes;
  for (let r = 0; r < ro.length - 1; r++) {
    for (let t = ro[r]; t < ro[r + 1]; t++) {
      const s = tok.starts[t];
      let c = tok.ends[t] - 1;
      while (c >= s && b[c] !== 58) c--;
      const v = c >= s ? parseNumber(b, c + 1, tok.ends[t]) : NaN;
      if (Number.isNaN(v)) {
        const text = Buffer.from(b.buffer, b.byteOffset + s, tok.ends[t] - s).toString('utf8');
        ctx.fail(
          r,
          'bad_weight',
          input,
          `feature "${ctx.feature}": expected id:weight in column "${input}" but found ${JSON.stringify(text)}`,
          tok.fromBytes ? s : undefined,
        );
        w[t] = 0;
        continue;
      }
      w[t] = v;
      tok.ends[t] = c;
    }
  }
  return w;
}

/** Cuts each token at the first byte of a one-byte separator (keeps the first value). */
function firstValues(tok: Tokens, separator: string): void {
  if (Buffer.byteLength(separator) !== 1) return;
  const sep = separator.charCodeAt(0);
  const b = tok.bytes;
  for (let t = 0; t < tok.starts.length; t++) {
    const s = tok.starts[t],
      e = tok.ends[t];
    for (let p = s; p < e; p++) {
      if (b[p] === sep) {
        tok.ends[t] = p;
        break;
      }
    }
  }
}

/** The weights of the kept tokens after truncateTokens (the first ones of each row). */
function truncateWeights(before: Tokens, after: Tokens, w: Float32Array): Float32Array {
  const out = new Float32Array(after.starts.length);
  const rows = after.rowOffsets.length - 1;
  for (let r = 0; r < rows; r++) {
    const n = after.rowOffsets[r + 1] - after.rowOffsets[r];
    out.set(w.subarray(before.rowOffsets[r], before.rowOffsets[r] + n), after.rowOffsets[r]);
  }
  return out;
}

/** Weights from their own column (`<name>__weights`), one per id token of the row. */
function columnWeights(
  ids: Tokens,
  wt: Tokens,
  ctx: FeaturizeContext,
  input: string,
  weightsInput: string,
): Float32Array {
  const w = new Float32Array(ids.starts.length);
  const rows = ids.rowOffsets.length - 1;
  for (let r = 0; r < rows; r++) {
    const n = ids.rowOffsets[r + 1] - ids.rowOffsets[r];
    const m = wt.rowOffsets[r + 1] - wt.rowOffsets[r];
    if (n !== m) {
      ctx.fail(
        r,
        'bad_weight',
        weightsInput,
        `feature "${ctx.feature}": expected ${n} weight${n === 1 ? '' : 's'} in column "${weightsInput}" (one per id in "${input}") but found ${m}`,
      );
      continue;
    }
    for (let k = 0; k < n; k++) {
      const t = wt.rowOffsets[r] + k;
      const v = parseNumber(wt.bytes, wt.starts[t], wt.ends[t]);
      if (Number.isNaN(v)) {
        ctx.fail(
          r,
          'bad_weight',
          weightsInput,
          `feature "${ctx.feature}": expected a number in column "${weightsInput}" but found ${JSON.stringify(tokenText(wt, t))}`,
          wt.fromBytes ? wt.starts[t] : undefined,
        );
        break;
      }
      w[ids.rowOffsets[r] + k] = v;
    }
  }
  return w;
}
