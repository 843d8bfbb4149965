import { addon } from './addon';
import { invalidParameterError, nativeError } from './errors';
import { checkRanges, tagOf } from './hash';

/**
 * Byte-level kernels of the CSV featurize step (native/src/cpu/text_fields.cc). Each is the fast
 * path of a function in @tsrec/data and handles the common case exactly as that function does;
 * it reports anything else back (`false`, or rows to redo) so the TypeScript path handles it,
 * with its error messages. Fields and rows are byte ranges of one buffer: [starts[i], ends[i]).
 */

interface TextFieldsAddon {
  splitDelimitedFast(
    bytes: Uint8Array,
    rowStarts: Int32Array,
    rowEnds: Int32Array,
    delimiter: number,
    quote: number,
    numCols: number,
    stride: number,
    fieldStarts: Int32Array,
    fieldEnds: Int32Array,
  ): boolean;
  hashIdFields(
    bytes: Uint8Array,
    starts: Int32Array,
    ends: Int32Array,
    separator: number,
    maxValues: number,
    numBuckets: number,
    defaultId: number,
    values: Int32Array,
    lengths: Int32Array,
  ): number;
  parseDecimalFields(
    bytes: Uint8Array,
    starts: Int32Array,
    ends: Int32Array,
    emptyValue: number,
    out: Float64Array,
    slowRows: Int32Array,
  ): number;
}

function checkByte(name: string, v: unknown, allowNone: boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v > 255 || v < (allowNone ? -1 : 0))
    throw invalidParameterError(name, `a byte value${allowNone ? ' or -1' : ''}`, v);
  return v;
}

function call<T>(f: (a: TextFieldsAddon) => T): T {
  try {
    return f(addon() as unknown as TextFieldsAddon);
  } catch (e) {
    // Made here, the Error's stack is the caller's (the native frame is gone): capturing one
    // before every call would cost microseconds on a path taken ~40 times per batch.
    throw nativeError(e, new Error());
  }
}

/**
 * Splits rows (bytes[rowStarts[r], rowEnds[r])) at `delimiter` into exactly `numCols` fields,
 * column-major: field c of row r goes to fieldStarts/fieldEnds[c * stride + r]. Returns false,
 * with the arrays partly written, when any row has another field count, a field starting with
 * `quote` (-1: no quoting) or invalid UTF-8: the caller then splits the rows its own way.
 */
export function splitDelimitedFast(
  bytes: Uint8Array,
  rowStarts: Int32Array,
  rowEnds: Int32Array,
  delimiter: number,
  quote: number,
  numCols: number,
  stride: number,
  fieldStarts: Int32Array,
  fieldEnds: Int32Array,
): boolean {
  const n = checkRanges(bytes, rowStarts, rowEnds);
  checkByte('delimiter', delimiter, false);
  checkByte('quote', quote, true);
  if (!Number.isInteger(numCols) || numCols < 1) throw invalidParameterError('numCols', 'a positive integer', numCols);
  if (!Number.isInteger(stride) || stride < n)
    throw invalidParameterError('stride', `an integer >= ${n} (the row count)`, stride);
  if (tagOf(fieldStarts) !== 'Int32Array' || fieldStarts.length < numCols * stride)
    throw invalidParameterError('fieldStarts', `an Int32Array of length >= ${numCols * stride}`, fieldStarts);
  if (tagOf(fieldEnds) !== 'Int32Array' || fieldEnds.length < numCols * stride)
    throw invalidParameterError('fieldEnds', `an Int32Array of length >= ${numCols * stride}`, fieldEnds);
  return call((a) =>
    a.splitDelimitedFast(bytes, rowStarts, rowEnds, delimiter, quote, numCols, stride, fieldStarts, fieldEnds),
  );
}

/** How hashIdFields turns a field into ids. */
export interface HashIdFieldsOptions {
  /** Multi-value separator byte, or -1: the whole field is one id. Empty tokens are dropped. */
  separator: number;
  /** Keep at most this many ids per field (the first ones); 0 keeps all. */
  maxValues: number;
  /** Ids are Fingerprint64(token) % numBuckets (TensorFlow's string_to_hash_bucket_fast). */
  numBuckets: number;
  /** The id of a field without tokens, or null for an empty bag. */
  defaultId: number | null;
}

/** Reusable output arrays for hashIdFields (grown, i.e. replaced, when short). */
export interface HashIdFieldsOutput {
  values: Int32Array;
  lengths: Int32Array;
}

/**
 * Field r -> its tokens' bucket ids: `values` holds them field after field, `lengths[r]` the
 * count of field r (1 with the default id for a field without tokens, when one is set).
 * With `out`, the results are views of its arrays (valid until its next use), which saves
 * allocating two arrays per call; arrays that are too short are replaced in `out`.
 */
export function hashIdFields(
  bytes: Uint8Array,
  starts: Int32Array,
  ends: Int32Array,
  o: HashIdFieldsOptions,
  out?: HashIdFieldsOutput,
): { values: Int32Array; lengths: Int32Array } {
  const n = checkRanges(bytes, starts, ends);
  checkByte('separator', o.separator, true);
  if (!Number.isInteger(o.maxValues) || o.maxValues < 0)
    throw invalidParameterError('maxValues', 'a non-negative integer', o.maxValues);
  if (!Number.isInteger(o.numBuckets) || o.numBuckets < 1 || o.numBuckets > 2147483647)
    throw invalidParameterError('numBuckets', 'an integer in [1, 2147483647]', o.numBuckets);
  const def = o.defaultId ?? -1;
  if (!Number.isInteger(def) || def < -1 || def > 2147483647)
    throw invalidParameterError('defaultId', 'null or a non-negative int32', o.defaultId);
  if (out !== undefined && (tagOf(out.values) !== 'Int32Array' || tagOf(out.lengths) !== 'Int32Array'))
    throw invalidParameterError('out', 'an object with Int32Array values and lengths', out);
  // Room for every id when a field holds at most one (or maxValues); else a guess, redone once if short.
  const perRow = o.separator < 0 ? 1 : o.maxValues > 0 ? o.maxValues : 4;
  const o2: HashIdFieldsOutput = out ?? { values: new Int32Array(n * perRow), lengths: new Int32Array(n) };
  if (o2.values.length < n * perRow) o2.values = new Int32Array(n * perRow);
  if (o2.lengths.length < n) o2.lengths = new Int32Array(n);
  const run = () =>
    call((a) =>
      a.hashIdFields(bytes, starts, ends, o.separator, o.maxValues, o.numBuckets, def, o2.values, o2.lengths),
    );
  const count = run();
  if (count > o2.values.length) {
    o2.values = new Int32Array(count);
    run();
  }
  const values = o2.values.length === count ? o2.values : o2.values.subarray(0, count);
  return { values, lengths: o2.lengths.length === n ? o2.lengths : o2.lengths.subarray(0, n) };
}

/**
 * out[r] = the decimal number in field r, or `emptyValue` for an empty field. Returns the rows
 * whose field is not a plain decimal exact in one rounding (e.g. "inf", "0x10", "1e400", "abc");
 * their out[r] is left as is for the caller's parser.
 */
export function parseDecimalFields(
  bytes: Uint8Array,
  starts: Int32Array,
  ends: Int32Array,
  emptyValue: number,
  out: Float64Array,
): Int32Array {
  const n = checkRanges(bytes, starts, ends);
  if (typeof emptyValue !== 'number') throw invalidParameterError('emptyValue', 'a number', emptyValue);
  if (tagOf(out) !== 'Float64Array' || out.length < n)
    throw invalidParameterError('out', `a Float64Array of length >= ${n}`, out);
  const slow = new Int32Array(n);
  const k = call((a) => a.parseDecimalFields(bytes, starts, ends, emptyValue, out, slow));
  return slow.subarray(0, k);
}
