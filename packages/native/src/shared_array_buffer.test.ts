/**
 * Typed arrays over a SharedArrayBuffer (what worker threads share) at every addon entry point
 * that takes arrays: the bindings used to read their data through ArrayBuffer().Data(), which
 * aborted (indices, offsets) or crashed (gradients, writeRows values, pooled outputs) on one.
 * Each case runs the same call on ArrayBuffer- and SharedArrayBuffer-backed arrays (at a byte
 * offset, to catch a lost view offset) and compares the results.
 */
import * as tf from '@tensorflow/tfjs-core';

import { EmbeddingCollection, type SparseBatch } from './embedding_collection';
import { fingerprint64Batch, hashBuckets } from './hash';
import { registerTsrecBackend } from './tfjs/backend';
import { hashIdFields, parseDecimalFields, splitDelimitedFast } from './text_fields';

type Typed = Int32Array | Float32Array | Float64Array | Uint8Array | BigInt64Array | BigUint64Array;

/** A copy of `a` over a SharedArrayBuffer, starting 16 bytes into it. */
function shared<T extends Typed>(a: T): T {
  const Ctor = a.constructor as unknown as { new (b: SharedArrayBuffer, off: number, len: number): T };
  const sab = new SharedArrayBuffer(16 + a.byteLength);
  const out = new Ctor(sab, 16, a.length);
  (out as unknown as { set(x: T): void }).set(a);
  return out;
}

function collection(): EmbeddingCollection {
  return new EmbeddingCollection({
    tables: [
      { name: 'a', rows: 50, dim: 8 },
      { name: 'b', rows: 30, dim: 4 },
    ],
    features: [
      { name: 'fa', table: 'a', pooling: 'sum' },
      { name: 'fb', table: 'b', pooling: 'mean' },
    ],
    optimizer: { type: 'rowwise_adagrad' },
    seed: 7,
  });
}

const B = 6;
const batch = (): SparseBatch => ({
  indices: Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 30),
  offsets: Int32Array.from({ length: 2 * B + 1 }, (_, i) => 2 * i),
  weights: Float32Array.from({ length: 24 }, (_, i) => 0.5 + (i % 3) / 4),
  batchSize: B,
});

describe('typed arrays over a SharedArrayBuffer are read correctly at every entry point', () => {
  it('EmbeddingCollection: forward into a shared output, backward with shared gradients, writeRows of shared values', () => {
    const plain = collection();
    const sab = collection();
    try {
      const b = batch();
      const sb: SparseBatch = {
        indices: shared(b.indices as Int32Array),
        offsets: shared(b.offsets as Int32Array),
        weights: shared(b.weights as Float32Array),
        batchSize: B,
      };
      const p1 = plain.forward(b).pooled;
      const out = shared(new Float32Array(B * plain.pooledDim));
      const p2 = sab.forward(sb, { pooled: out }).pooled;
      expect(p2).toBe(out);
      expect(Array.from(p2)).toEqual(Array.from(p1));
      const grad = Float32Array.from({ length: B * plain.pooledDim }, (_, i) => Math.sin(i));
      plain.backwardAndUpdate(b, grad, 0.1);
      sab.backwardAndUpdate(sb, shared(grad), 0.1);
      for (const t of ['a', 'b'])
        for (const s of [undefined, ...plain.stateNames])
          expect(Array.from(sab.readRows(t, 0, t === 'a' ? 50 : 30, s))).toEqual(
            Array.from(plain.readRows(t, 0, t === 'a' ? 50 : 30, s)),
          );
      const rows = Float32Array.from({ length: 3 * 8 }, (_, i) => i / 10);
      plain.writeRows('a', 5, rows);
      sab.writeRows('a', 5, shared(rows));
      expect(Array.from(sab.readRows('a', 0, 50))).toEqual(Array.from(plain.readRows('a', 0, 50)));
      // 64-bit indices too
      const b64: SparseBatch = {
        indices: shared(BigInt64Array.from(Array.from(b.indices as Int32Array, BigInt))),
        offsets: shared(BigInt64Array.from(Array.from(b.offsets as Int32Array, BigInt))),
        batchSize: B,
      };
      const w = { ...b, weights: undefined };
      expect(Array.from(sab.forward(b64).pooled)).toEqual(Array.from(plain.forward(w).pooled));
    } finally {
      plain.dispose();
      sab.dispose();
    }
  });

  it('text field kernels and hashes', () => {
    const bytes = Uint8Array.from(Buffer.from('1.5,x|y,7\n-2,z,8'));
    const rowStarts = Int32Array.of(0, 10);
    const rowEnds = Int32Array.of(9, 16);
    const split = (sh: boolean) => {
      const fs = new Int32Array(3 * 2);
      const fe = new Int32Array(3 * 2);
      const f = (a: Int32Array) => (sh ? shared(a) : a);
      const starts = f(fs);
      const ends = f(fe);
      const ok = splitDelimitedFast(sh ? shared(bytes) : bytes, f(rowStarts), f(rowEnds), 44, 34, 3, 2, starts, ends);
      return { ok, starts: Array.from(starts), ends: Array.from(ends) };
    };
    expect(split(true)).toEqual(split(false));
    const { starts, ends } = split(false);
    const col = (c: number) => ({
      s: Int32Array.from(starts.slice(c * 2, c * 2 + 2)),
      e: Int32Array.from(ends.slice(c * 2, c * 2 + 2)),
    });
    const ids = col(1);
    const opts = { separator: 124, maxValues: 0, numBuckets: 1000, defaultId: null };
    const h1 = hashIdFields(bytes, ids.s, ids.e, opts);
    const h2 = hashIdFields(shared(bytes), shared(ids.s), shared(ids.e), opts, {
      values: shared(new Int32Array(8)),
      lengths: shared(new Int32Array(2)),
    });
    expect(Array.from(h2.values)).toEqual(Array.from(h1.values));
    expect(Array.from(h2.lengths)).toEqual(Array.from(h1.lengths));
    const nums = col(0);
    const d1 = new Float64Array(2);
    const d2 = shared(new Float64Array(2));
    parseDecimalFields(bytes, nums.s, nums.e, 0, d1);
    parseDecimalFields(shared(bytes), shared(nums.s), shared(nums.e), 0, d2);
    expect(Array.from(d2)).toEqual([1.5, -2]);
    expect(Array.from(d1)).toEqual([1.5, -2]);
    const hb = hashBuckets(shared(bytes), shared(ids.s), shared(ids.e), 97, shared(new Int32Array(2)));
    expect(Array.from(hb)).toEqual(Array.from(hashBuckets(bytes, ids.s, ids.e, 97)));
    const fp = fingerprint64Batch(shared(bytes), shared(ids.s), shared(ids.e), shared(new BigUint64Array(2)));
    expect(Array.from(fp)).toEqual(Array.from(fingerprint64Batch(bytes, ids.s, ids.e)));
  });

  it('tfjs kernels of the tsrec backend on tensors made from shared arrays', async () => {
    registerTsrecBackend();
    await tf.setBackend('tsrec');
    const a = Float32Array.from({ length: 6 * 5 }, (_, i) => Math.cos(i));
    const b = Float32Array.from({ length: 5 * 4 }, (_, i) => Math.sin(i));
    const run = (x: Float32Array, y: Float32Array) =>
      tf.tidy(() => {
        const ta = tf.tensor2d(x, [6, 5]);
        const tb = tf.tensor2d(y, [5, 4]);
        return Array.from(tf.relu(tf.add(tf.matMul(ta, tb), 1)).dataSync());
      });
    expect(run(shared(a), shared(b))).toEqual(run(a, b));
  });
});
