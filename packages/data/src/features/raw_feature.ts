import { parseDecimalFields } from '@tsrec/native';
import { nativeFieldKernels } from '../native_fields';
import { parseInteger, parseNumber } from '../number_parser';
import type { DenseOutput, Feature, FeaturizeContext, SequenceDenseOutput, SparseOutput } from './feature';
import { truncateTokens } from './id_feature';
import { bucketize, normalizeAll, type Normalizer } from './normalizer';
import type { RawColumn } from '../raw_block';
import { type Tokens, tokenize } from './tokens';

/** Settings of a RawFeature / SequenceRawFeature. */
export interface RawFeatureOptions {
  name: string;
  input: string;
  valueDim: number;
  separator: string;
  /** Values of a missing field (already split); one value is broadcast to valueDim. */
  defaults: number[];
  normalizer: Normalizer | null;
  /** Bucketize into ids (sparse output) when set. */
  boundaries: Float64Array | null;
  /** FG_NONE with boundaries: fields already hold bucket ids. */
  encodedBuckets: boolean;
  embeddingName: string;
  embeddingDim: number;
  pooling: 'sum' | 'mean';
  sequence?: { delim: string; length: number };
}

/** Numbers (value_dim per row, or per sequence element), optionally normalized or bucketized. */
export class RawFeature implements Feature {
  readonly inputs: readonly string[];
  readonly kind: 'sparse' | 'dense' | 'sequence_dense';
  constructor(private readonly o: RawFeatureOptions) {
    this.inputs = [o.input];
    this.kind = o.boundaries ? 'sparse' : o.sequence ? 'sequence_dense' : 'dense';
  }
  get name(): string {
    return this.o.name;
  }
  get dim(): number {
    return this.o.boundaries ? 0 : this.o.valueDim;
  }
  get numEmbeddings(): number {
    return this.o.boundaries ? this.o.boundaries.length + 1 : 0;
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
  readonly isWeighted = false;
  // Scratch of the one-number-per-field path, reused batch after batch (the engine copies outputs).
  private f64 = new Float64Array(0);
  private f32 = new Float32Array(0);

  featurize(ctx: FeaturizeContext): DenseOutput | SparseOutput | SequenceDenseOutput {
    const o = this.o;
    const rows = ctx.block.rows;
    const d = o.valueDim;
    const col = joinArrays(ctx.block.column(o.input), o.separator);
    if (col && col.kind === 'bytes' && d === 1 && !o.sequence)
      return this.finish(this.parseSingle(col.bytes, col.starts, col.ends, ctx), rows, null, ctx);
    // Elements: rows themselves, or the sequence elements of each row.
    let elems: Tokens;
    if (o.sequence) {
      elems = tokenize(col, rows, o.sequence.delim);
      if (o.sequence.length > 0) elems = truncateTokens(elems, o.sequence.length);
    } else {
      elems = tokenize(col, rows, '\u0000'); // whole fields; the NUL separator never splits text
    }
    const ro = elems.rowOffsets;
    const nElems = o.sequence ? elems.starts.length : rows;
    const vals = new Float64Array(nElems * d);
    const b = elems.bytes;
    const sep = o.separator.length === 1 ? o.separator.charCodeAt(0) : -1;
    for (let r = 0; r < rows; r++) {
      const s0 = ro[r],
        e0 = ro[r + 1];
      if (!o.sequence) {
        if (s0 === e0) {
          this.fillDefault(vals, r * d);
          continue;
        }
        this.parseElement(b, elems.starts[s0], elems.ends[s0], sep, vals, r * d, ctx, r, elems.fromBytes);
      } else {
        for (let t = s0; t < e0; t++)
          this.parseElement(b, elems.starts[t], elems.ends[t], sep, vals, t * d, ctx, r, elems.fromBytes);
      }
    }
    return this.finish(vals, rows, ro, ctx);
  }

  // The common case (one number per field, CSV bytes): parse each field in place, no tokenizing.
  private parseSingle(b: Uint8Array, starts: Int32Array, ends: Int32Array, ctx: FeaturizeContext): Float64Array {
    const o = this.o;
    const rows = ctx.block.rows;
    if (this.f64.length < rows) this.f64 = new Float64Array(rows);
    const vals = this.f64.length === rows ? this.f64 : this.f64.subarray(0, rows);
    const def = o.defaults[0];
    if (!o.encodedBuckets && rows > 0 && nativeFieldKernels()) {
      // Plain decimals natively; the fields it declines (NaN, inf, hex, long mantissas) here.
      const slow = parseDecimalFields(b, starts, ends, def, vals);
      for (let k = 0; k < slow.length; k++) this.parseField(b, starts[slow[k]], ends[slow[k]], slow[k], vals, ctx);
      return vals;
    }
    for (let r = 0; r < rows; r++) {
      const s = starts[r],
        e = ends[r];
      if (s === e) {
        vals[r] = def;
        continue;
      }
      this.parseField(b, s, e, r, vals, ctx);
    }
    return vals;
  }

  private parseField(b: Uint8Array, s: number, e: number, r: number, vals: Float64Array, ctx: FeaturizeContext): void {
    const o = this.o;
    const v = o.encodedBuckets ? parseInteger(b, s, e) : parseNumber(b, s, e);
    if (Number.isNaN(v)) {
      const text = Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('utf8');
      ctx.fail(
        r,
        'bad_number',
        o.input,
        `feature "${o.name}": expected ${o.encodedBuckets ? 'an integer bucket id' : 'a number'} in column "${o.input}" but found ${JSON.stringify(text)}${notFiniteNote(text)}`,
        s,
      );
    }
    vals[r] = v;
  }

  // Normalizes, then bucketizes (sparse) or packs (dense / sequence_dense). ro: sequence row offsets.
  private finish(
    vals: Float64Array,
    rows: number,
    ro: Int32Array | null,
    ctx: FeaturizeContext,
  ): DenseOutput | SparseOutput | SequenceDenseOutput {
    const o = this.o;
    const d = o.valueDim;
    if (o.normalizer && !o.encodedBuckets) normalizeAll(o.normalizer, vals);
    if (!o.boundaries && !o.sequence) {
      if (this.f32.length < vals.length) this.f32 = new Float32Array(vals.length);
      const out = this.f32.length === vals.length ? this.f32 : this.f32.subarray(0, vals.length);
      out.set(vals); // converts natively
      return { kind: 'dense', values: out };
    }
    const lengths = new Int32Array(rows);
    for (let r = 0; r < rows; r++)
      lengths[r] = o.sequence && ro ? (ro[r + 1] - ro[r]) * (o.boundaries ? d : 1) : o.boundaries ? d : 1;
    if (o.boundaries) {
      const ids = new Int32Array(vals.length);
      const n = o.boundaries.length + 1;
      for (let i = 0; i < vals.length; i++) {
        if (o.encodedBuckets) {
          const v = vals[i];
          if (!Number.isInteger(v) || v < 0 || v >= n) {
            const r = rowOfValue(i, d, ro ?? new Int32Array(0), !!o.sequence);
            ctx.fail(
              r,
              'id_out_of_range',
              o.input,
              `feature "${o.name}": bucket id ${v} in column "${o.input}" is outside [0, ${n}) (boundaries)`,
            );
            continue;
          }
          ids[i] = v;
        } else ids[i] = bucketize(o.boundaries, vals[i]);
      }
      return { kind: 'sparse', values: ids, lengths, weights: null };
    }
    // new Float32Array(Float64Array) converts natively (Float32Array.from iterates).
    return { kind: 'sequence_dense', values: new Float32Array(vals), lengths };
  }

  private fillDefault(vals: Float64Array, at: number): void {
    const d = this.o.valueDim;
    const def = this.o.defaults;
    for (let k = 0; k < d; k++) vals[at + k] = def.length === 1 ? def[0] : def[k];
  }

  // Parses one field / element of valueDim numbers split by the separator.
  private parseElement(
    b: Uint8Array,
    s: number,
    e: number,
    sep: number,
    vals: Float64Array,
    at: number,
    ctx: FeaturizeContext,
    r: number,
    fromBytes: boolean,
  ): void {
    const o = this.o;
    const d = o.valueDim;
    let k = 0;
    let p = s;
    while (p <= e) {
      let q = p;
      if (sep >= 0) while (q < e && b[q] !== sep) q++;
      else q = e;
      if (k < d) {
        const v = o.encodedBuckets ? parseInteger(b, p, q) : parseNumber(b, p, q);
        if (Number.isNaN(v)) {
          const text = Buffer.from(b.buffer, b.byteOffset + p, q - p).toString('utf8');
          ctx.fail(
            r,
            'bad_number',
            o.input,
            `feature "${o.name}": expected ${o.encodedBuckets ? 'an integer bucket id' : 'a number'} in column "${o.input}" but found ${JSON.stringify(text)}${notFiniteNote(text)}`,
            fromBytes ? p : undefined,
          );
          return;
        }
        vals[at + k] = v;
      }
      k++;
      p = q + 1;
      if (sep < 0) break;
    }
    if (k !== d) {
      if (k === 0 && !o.sequence) return this.fillDefault(vals, at);
      ctx.fail(
        r,
        'bad_number',
        o.input,
        `feature "${o.name}": expected ${d} value${d === 1 ? '' : 's'} (value_dim) in column "${o.input}" but found ${k}`,
        fromBytes ? s : undefined,
      );
    }
  }
}

// Decoded list values (Parquet list<float>) become separator-joined text, as CSV fields are.
function joinArrays(col: RawColumn | undefined, sep: string): RawColumn | undefined {
  if (col?.kind !== 'values') return col;
  const v = col.values;
  const out = new Array<unknown>(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    out[i] = Array.isArray(x) || ArrayBuffer.isView(x) ? Array.from(x as ArrayLike<unknown>).join(sep) : x;
  }
  return { kind: 'values', values: out };
}

function rowOfValue(i: number, d: number, ro: Int32Array, sequence: boolean): number {
  const el = Math.floor(i / d);
  if (!sequence) return el;
  let lo = 0,
    hi = ro.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ro[mid] <= el) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** " (not finite as a 32-bit float)" when the text is a number JavaScript reads but float32 cannot hold. */
function notFiniteNote(text: string): string {
  const v = Number(text.trim());
  return text.trim() !== '' && !Number.isNaN(v) ? ' (not finite as a 32-bit float)' : '';
}
