/**
 * The one sparse batch type from reader to kernel, after torchrec's KeyedJaggedTensor.
 *
 * F keys (features) and a batch of B samples. Bag (f, b) holds the ids of feature f for sample
 * b. Values are stored feature-major, i.e. all bags of key 0, then all bags of key 1, ...:
 *
 * ```
 *   keys     ["user",              "item"             ]        F = 2, B = 3
 *   bags      u0:[7]  u1:[]  u2:[1,4]  i0:[9] i1:[2,2] i2:[5]
 *   values   [ 7,            1, 4,      9,    2, 2,    5 ]     Int32Array, nnz = 7
 *   weights  [ w,            w, w,      w,    w, w,    w ]     Float32Array | null
 *   offsets  [ 0,  1,  1,  3,  4,  6,  7 ]                     Int32Array, length F*B + 1
 *              ^u0 ^u1 ^u2 ^i0 ^i1 ^i2 ^end
 *   bag (f, b) = values[offsets[f*B + b] .. offsets[f*B + b + 1])
 *   lengths  [ 1, 0, 2, 1, 2, 1 ]                              offsets[i+1] - offsets[i]
 * ```
 *
 * This is exactly the `indices` / `offsets` (length F*B + 1) layout that the native
 * `EmbeddingCollection.forward` consumes (`toSparseBatch()`), so a batch goes to the kernel
 * without a copy. Instances are immutable by convention: the tfjs cpu backend aliases buffers,
 * so a batch's arrays are never reused once handed out.
 */
/** A KeyedJaggedBatch's arrays as sent between threads (see toMessage / revive). */
export interface KeyedJaggedBatchMessage {
  keys: string[];
  batchSize: number;
  values: Int32Array;
  offsets: Int32Array;
  weights: Float32Array | null;
}

export class KeyedJaggedBatch {
  /** Feature names, in value order. */
  readonly keys: readonly string[];
  /** Number of samples. */
  readonly batchSize: number;
  /** All ids, feature-major. */
  readonly values: Int32Array;
  /** Bag boundaries, length keys.length * batchSize + 1, starting at 0, non-decreasing. */
  readonly offsets: Int32Array;
  /** Per-id weights (weighted features), or null. */
  readonly weights: Float32Array | null;
  private lengthsCache: Int32Array | null = null;
  private offsetPerKeyCache: Int32Array | null = null;
  private indexPerKeyCache: Map<string, number> | null = null;

  private constructor(
    keys: readonly string[],
    batchSize: number,
    values: Int32Array,
    offsets: Int32Array,
    weights: Float32Array | null,
  ) {
    this.keys = keys;
    this.batchSize = batchSize;
    this.values = values;
    this.offsets = offsets;
    this.weights = weights;
  }

  /** Builds a batch from per-bag lengths (length F*B, feature-major). */
  static fromLengths(args: {
    keys: readonly string[];
    batchSize: number;
    values: Int32Array;
    lengths: Int32Array;
    weights?: Float32Array | null;
  }): KeyedJaggedBatch {
    const { keys, batchSize, values, lengths } = args;
    const weights = args.weights ?? null;
    checkShape(keys, batchSize);
    const n = lengths.length;
    if (n !== keys.length * batchSize) {
      throw new RangeError(
        `Expected lengths of length ${keys.length * batchSize} (keys ${keys.length} x batchSize ${batchSize}) but received ${n}`,
      );
    }
    // One pass: prefix sums, and the OR of all lengths, whose sign bit says whether any is negative.
    // Offsets built from non-negative lengths need no second (non-decreasing) check.
    const offsets = new Int32Array(n + 1);
    let acc = 0;
    let signs = 0;
    for (let i = 0; i < n; i++) {
      const l = lengths[i];
      signs |= l;
      acc += l;
      offsets[i + 1] = acc;
    }
    if (signs < 0) {
      const i = lengths.findIndex((l) => l < 0);
      throw new RangeError(`Expected non-negative lengths but lengths[${i}] is ${lengths[i]}`);
    }
    if (acc !== values.length)
      throw new RangeError(`Expected offsets[${n}] = values.length (${values.length}) but received ${acc}`);
    if (weights && weights.length !== values.length)
      throw new RangeError(`Expected weights of length ${values.length} (as values) but received ${weights.length}`);
    const kjb = new KeyedJaggedBatch(keys, batchSize, values, offsets, weights);
    kjb.lengthsCache = lengths;
    return kjb;
  }

  /**
   * The arrays to send to another thread (a plain object: postMessage would also copy the
   * caches of an instance, such as the F*B lengths). `revive` rebuilds the batch there.
   */
  toMessage(): KeyedJaggedBatchMessage {
    return {
      keys: [...this.keys],
      batchSize: this.batchSize,
      values: this.values,
      offsets: this.offsets,
      weights: this.weights,
    };
  }

  /**
   * A batch from `toMessage()`'s arrays, made and validated by a KeyedJaggedBatch in another
   * thread: only the O(1) shape checks run again (not the O(F*B) scan of the offsets).
   */
  static revive(m: KeyedJaggedBatchMessage): KeyedJaggedBatch {
    const { keys, batchSize, values, offsets } = m;
    const weights = m.weights ?? null;
    checkShape(keys, batchSize);
    const n = keys.length * batchSize;
    if (
      offsets.length !== n + 1 ||
      offsets[0] !== 0 ||
      offsets[n] !== values.length ||
      (weights && weights.length !== values.length)
    ) {
      // Not what toMessage makes: validate fully (and say what is wrong).
      return KeyedJaggedBatch.fromOffsets({ keys, batchSize, values, offsets, weights });
    }
    return new KeyedJaggedBatch(keys, batchSize, values, offsets, weights);
  }

  /** Builds a batch from bag offsets (length F*B + 1, feature-major); validates them. */
  static fromOffsets(args: {
    keys: readonly string[];
    batchSize: number;
    values: Int32Array;
    offsets: Int32Array;
    weights?: Float32Array | null;
  }): KeyedJaggedBatch {
    const { keys, batchSize, values, offsets } = args;
    const weights = args.weights ?? null;
    checkShape(keys, batchSize);
    const n = keys.length * batchSize;
    if (offsets.length !== n + 1) {
      throw new RangeError(
        `Expected offsets of length ${n + 1} (keys ${keys.length} x batchSize ${batchSize} + 1) but received ${offsets.length}`,
      );
    }
    if (offsets[0] !== 0) throw new RangeError(`Expected offsets[0] = 0 but received ${offsets[0]}`);
    for (let i = 0; i < n; i++) {
      if (offsets[i + 1] < offsets[i])
        throw new RangeError(
          `Expected non-decreasing offsets but offsets[${i + 1}] = ${offsets[i + 1]} < offsets[${i}] = ${offsets[i]}`,
        );
    }
    if (offsets[n] !== values.length)
      throw new RangeError(`Expected offsets[${n}] = values.length (${values.length}) but received ${offsets[n]}`);
    if (weights && weights.length !== values.length)
      throw new RangeError(`Expected weights of length ${values.length} (as values) but received ${weights.length}`);
    return new KeyedJaggedBatch(keys, batchSize, values, offsets, weights);
  }

  /** An empty batch with these keys (every bag empty). */
  static empty(keys: readonly string[], batchSize: number): KeyedJaggedBatch {
    return KeyedJaggedBatch.fromOffsets({
      keys,
      batchSize,
      values: new Int32Array(0),
      offsets: new Int32Array(keys.length * batchSize + 1),
    });
  }

  /** Per-bag lengths (F*B), derived once. */
  lengths(): Int32Array {
    if (!this.lengthsCache) {
      const l = new Int32Array(this.offsets.length - 1);
      for (let i = 0; i < l.length; i++) l[i] = this.offsets[i + 1] - this.offsets[i];
      this.lengthsCache = l;
    }
    return this.lengthsCache;
  }

  /** Start of each key's values (length F + 1): key f owns values[offsetPerKey[f] .. offsetPerKey[f+1]). */
  offsetPerKey(): Int32Array {
    if (!this.offsetPerKeyCache) {
      const o = new Int32Array(this.keys.length + 1);
      for (let f = 0; f <= this.keys.length; f++) o[f] = this.offsets[f * this.batchSize];
      this.offsetPerKeyCache = o;
    }
    return this.offsetPerKeyCache;
  }

  /** Index of a key, or -1. */
  indexOfKey(key: string): number {
    if (!this.indexPerKeyCache) this.indexPerKeyCache = new Map(this.keys.map((k, i) => [k, i]));
    return this.indexPerKeyCache.get(key) ?? -1;
  }

  /** The ids of one bag. */
  bag(key: string | number, sample: number): Int32Array {
    const f = typeof key === 'number' ? key : this.keyIndexOrThrow(key);
    const i = f * this.batchSize + sample;
    return this.values.subarray(this.offsets[i], this.offsets[i + 1]);
  }

  /** The weights of one bag (throws when the batch has none). */
  bagWeights(key: string | number, sample: number): Float32Array {
    const w = this.weightsOrThrow();
    const f = typeof key === 'number' ? key : this.keyIndexOrThrow(key);
    const i = f * this.batchSize + sample;
    return w.subarray(this.offsets[i], this.offsets[i + 1]);
  }

  /** The weights, or throws: for code paths that require a weighted batch. */
  weightsOrThrow(): Float32Array {
    if (!this.weights) throw new Error(`This batch of keys [${this.keys.join(', ')}] has no weights`);
    return this.weights;
  }

  /** The weights, or null. */
  weightsOrNull(): Float32Array | null {
    return this.weights;
  }

  /** A batch of some keys (in the given order), copying their values; how a group or a collection takes its features. */
  select(keys: readonly string[]): KeyedJaggedBatch {
    const B = this.batchSize;
    const idx = keys.map((k) => this.keyIndexOrThrow(k));
    const opk = this.offsetPerKey();
    let nnz = 0;
    for (const f of idx) nnz += opk[f + 1] - opk[f];
    const values = new Int32Array(nnz);
    const weights = this.weights ? new Float32Array(nnz) : null;
    const offsets = new Int32Array(keys.length * B + 1);
    let at = 0;
    idx.forEach((f, j) => {
      const s = opk[f],
        e = opk[f + 1];
      values.set(this.values.subarray(s, e), at);
      if (weights) weights.set(this.weights!.subarray(s, e), at);
      for (let b = 0; b < B; b++) offsets[j * B + b + 1] = at + this.offsets[f * B + b + 1] - s;
      at += e - s;
    });
    return new KeyedJaggedBatch(keys.slice(), B, values, offsets, weights);
  }

  /** The batch as the native EmbeddingCollection's input (same arrays, no copy). */
  toSparseBatch(): { indices: Int32Array; offsets: Int32Array; weights: Float32Array | null; batchSize: number } {
    return { indices: this.values, offsets: this.offsets, weights: this.weights, batchSize: this.batchSize };
  }

  /** Bags as nested arrays (tests and debugging). */
  toJSON(): Record<string, number[][]> {
    const out: Record<string, number[][]> = {};
    this.keys.forEach((k, f) => {
      out[k] = [];
      for (let b = 0; b < this.batchSize; b++) out[k].push(Array.from(this.bag(f, b)));
    });
    return out;
  }

  private keyIndexOrThrow(key: string): number {
    const f = this.indexOfKey(key);
    if (f < 0) throw new RangeError(`Expected one of the keys [${this.keys.join(', ')}] but received "${key}"`);
    return f;
  }
}

function checkShape(keys: readonly string[], batchSize: number): void {
  if (!Array.isArray(keys)) throw new TypeError('Expected an array of strings for keys');
  if (!Number.isInteger(batchSize) || batchSize < 0)
    throw new RangeError(`Expected a non-negative integer for batchSize but received ${batchSize}`);
  if (new Set(keys).size !== keys.length)
    throw new RangeError(`Expected distinct keys but received [${keys.join(', ')}]`);
}
