import { addon } from './addon';
import { invalidParameterError, nativeError } from './errors';

/**
 * Id hashing: FarmHash Fingerprint64, the hash of TensorFlow's `string_to_hash_bucket_fast`, so
 * a string lands in the same bucket as in TensorFlow / EasyRec: `Fingerprint64(utf8) % numBuckets`.
 *
 * The batch functions take strings as byte ranges of one buffer (string i is
 * `bytes[starts[i], ends[i])`), so a reader hashes fields straight out of the bytes it read.
 */

interface HashAddon {
  hashBuckets(bytes: Uint8Array, starts: Int32Array, ends: Int32Array, numBuckets: number, out: Int32Array): void;
  fingerprint64(bytes: Uint8Array, starts: Int32Array, ends: Int32Array, out: BigUint64Array): void;
}

/** The largest bucket count: bucket ids are Int32. */
export const MAX_HASH_BUCKETS = 2147483647;

// Realm-independent typed-array checks: arrays made by the addon or another realm (jest) fail
// `instanceof` but carry the right tag.
export function tagOf(v: unknown): string {
  return ArrayBuffer.isView(v) ? Object.prototype.toString.call(v).slice(8, -1) : '';
}

/** Checks (bytes, starts, ends) are a Uint8Array and two Int32Arrays of one length; returns the length. */
export function checkRanges(bytes: unknown, starts: unknown, ends: unknown): number {
  if (tagOf(bytes) !== 'Uint8Array') throw invalidParameterError('bytes', 'a Uint8Array (or Buffer)', bytes);
  if (tagOf(starts) !== 'Int32Array') throw invalidParameterError('starts', 'an Int32Array', starts);
  if (tagOf(ends) !== 'Int32Array') throw invalidParameterError('ends', 'an Int32Array', ends);
  const n = (starts as Int32Array).length;
  if ((ends as Int32Array).length !== n)
    throw invalidParameterError('ends', `an Int32Array of length ${n} (as starts)`, ends);
  return n;
}

/** Checks a bucket count; exported so the data package reports config errors in the same words. */
export function checkNumBuckets(numBuckets: unknown, name = 'numBuckets'): number {
  if (
    typeof numBuckets !== 'number' ||
    !Number.isInteger(numBuckets) ||
    numBuckets < 1 ||
    numBuckets > MAX_HASH_BUCKETS
  ) {
    throw invalidParameterError(name, `an integer in [1, ${MAX_HASH_BUCKETS}]`, numBuckets);
  }
  return numBuckets;
}

/**
 * Buckets of many byte strings: `out[i] = Fingerprint64(bytes[starts[i], ends[i])) % numBuckets`.
 * Writes into `out` when given (length >= count), else into a new Int32Array; returns it.
 */
export function hashBuckets(
  bytes: Uint8Array,
  starts: Int32Array,
  ends: Int32Array,
  numBuckets: number,
  out?: Int32Array,
): Int32Array {
  const n = checkRanges(bytes, starts, ends);
  checkNumBuckets(numBuckets);
  let dst: Int32Array;
  if (out === undefined) dst = new Int32Array(n);
  else if (tagOf(out) !== 'Int32Array' || out.length < n)
    throw invalidParameterError('out', `an Int32Array of length >= ${n}`, out);
  else dst = out;
  const stack = new Error();
  try {
    (addon() as unknown as HashAddon).hashBuckets(bytes, starts, ends, numBuckets, dst);
  } catch (e) {
    throw nativeError(e, stack);
  }
  return dst;
}

/** Raw 64-bit fingerprints of many byte strings (same ranges as `hashBuckets`). */
export function fingerprint64Batch(
  bytes: Uint8Array,
  starts: Int32Array,
  ends: Int32Array,
  out?: BigUint64Array,
): BigUint64Array {
  const n = checkRanges(bytes, starts, ends);
  let dst: BigUint64Array;
  if (out === undefined) dst = new BigUint64Array(n);
  else if (tagOf(out) !== 'BigUint64Array' || out.length < n)
    throw invalidParameterError('out', `a BigUint64Array of length >= ${n}`, out);
  else dst = out;
  const stack = new Error();
  try {
    (addon() as unknown as HashAddon).fingerprint64(bytes, starts, ends, dst);
  } catch (e) {
    throw nativeError(e, stack);
  }
  return dst;
}

/** Packs strings as UTF-8 into one buffer with start/end offsets (the batch functions' input). */
export function packStrings(strings: readonly string[]): { bytes: Uint8Array; starts: Int32Array; ends: Int32Array } {
  if (!Array.isArray(strings)) throw invalidParameterError('strings', 'an array of strings', strings);
  const starts = new Int32Array(strings.length);
  const ends = new Int32Array(strings.length);
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    if (typeof s !== 'string') throw invalidParameterError(`strings[${i}]`, 'a string', s);
    starts[i] = total;
    total += Buffer.byteLength(s, 'utf8');
    ends[i] = total;
  }
  const bytes = Buffer.allocUnsafe(total);
  let at = 0;
  for (const s of strings) at += bytes.write(s, at, 'utf8');
  return { bytes, starts, ends };
}

/** Buckets of JS strings (UTF-8 bytes hashed), as TensorFlow's `string_to_hash_bucket_fast`. */
export function hashStringsToBuckets(strings: readonly string[], numBuckets: number, out?: Int32Array): Int32Array {
  const p = packStrings(strings);
  return hashBuckets(p.bytes, p.starts, p.ends, numBuckets, out);
}

/** Fingerprint64 of one string (UTF-8) or byte array, as an unsigned bigint. */
export function fingerprint64(input: string | Uint8Array): bigint {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (tagOf(bytes) !== 'Uint8Array') throw invalidParameterError('input', 'a string or Uint8Array', input);
  return fingerprint64Batch(bytes, Int32Array.of(0), Int32Array.of(bytes.length))[0];
}
