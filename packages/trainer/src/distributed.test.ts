/**
 * The synchronous replicas' pieces without mpirun (SimWorld ranks in this process): the replicated
 * sparse update equals one collection's update of the concatenated batch with gradients × 1/W, bit
 * for bit (random shapes, empty bags, a rank with no batch, int32 and int64 ids, per-id weights,
 * two pooled outputs); gradient averaging; packed metric states; the bucket setting.
 */
import { EmbeddingCollection, type EmbeddingCollectionOptions, SimWorld, type SparseBatch } from '@tsrec/native';
import * as tf from '@tensorflow/tfjs-core';
import { setUpTfjs } from '@tsrec/models';

import { globalStep, xorshift } from './testing/sparse_batches';

import {
  allreduceGradients,
  bucketFloats,
  checkReplicas,
  packValue,
  ReplicatedCollection,
  unpackValue,
} from './distributed';

beforeAll(() => setUpTfjs('tsrec'));

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);

/** Two tables (the second co-located in the first's rows, pooling into output 1) and a third. */
function options(rows: number): EmbeddingCollectionOptions {
  return {
    tables: [
      { name: 'a', rows, dim: 8 },
      { name: 'a_wide', rows, dim: 4, coLocateWith: 'a', output: 1 },
      { name: 'b', rows: rows + 3, dim: 5 },
    ],
    features: [
      { name: 'fa', table: 'a', pooling: 'sum' },
      { name: 'fb', table: 'b', pooling: 'mean' },
    ],
    optimizer: { type: 'rowwise_adagrad', eps: 1e-8 },
    seed: 5,
  };
}

function randomBatch(
  r: () => number,
  B: number,
  F: number,
  rows: number,
  wide: boolean,
  weighted: boolean,
): SparseBatch {
  const lens = Array.from({ length: F * B }, () => Math.floor(r() * 4)); // 0..3 ids, empty bags included
  const nnz = lens.reduce((a, b) => a + b, 0);
  const offs = new Int32Array(F * B + 1);
  for (let i = 0; i < lens.length; i++) offs[i + 1] = offs[i] + lens[i];
  const ids = Array.from({ length: nnz }, () => Math.floor(r() * rows));
  return {
    indices: wide ? BigInt64Array.from(ids.map(BigInt)) : Int32Array.from(ids),
    offsets: wide ? BigInt64Array.from(Array.from(offs, BigInt)) : offs,
    weights: weighted ? Float32Array.from({ length: nnz }, () => r() * 2) : null,
    batchSize: B,
  };
}

describe(`ReplicatedCollection (seed ${seed})`, () => {
  it.each([
    [2, false, false],
    [3, true, true],
    [4, false, true],
  ])('W=%i (int64 ids %s, weights %s): the update of the global batch, bit for bit', async (w, wide, weighted) => {
    const r = xorshift(seed + w);
    const rows = 20 + Math.floor(r() * 30);
    const world = new SimWorld(w);
    const replicas = Array.from(
      { length: w },
      () => new ReplicatedCollection(new EmbeddingCollection(options(rows)), w),
    );
    const reference = new EmbeddingCollection(options(rows));
    try {
      for (let step = 0; step < 3; step++) {
        // Rank 1 sometimes has no batch (its loss did not reach the collection, or it ran dry).
        const batches = replicas.map((_, k) =>
          k === 1 && step === 1 ? null : randomBatch(r, 1 + Math.floor(r() * 7), 2, rows, wide, weighted),
        );
        const grads = batches.map((b) =>
          b ? reference.pooledDims.map((d) => Float32Array.from({ length: b.batchSize * d }, () => r() - 0.5)) : null,
        );
        replicas.forEach((rep, k) => {
          const b = batches[k];
          if (!b) return;
          rep.forward(b);
          rep.backwardAndUpdate(b, grads[k]!, 0.1);
        });
        await Promise.all(replicas.map((rep, k) => rep.synchronize(world.ranks[k])));
        const global = globalStep(batches, grads, 2, 2, w);
        reference.backwardAndUpdate(global.batch, global.grads, 0.1);
      }
      const bytes = (c: EmbeddingCollection, t: string, state?: string) =>
        Buffer.from(c.readRows(t, 0, c.tables.find((x) => x.name === t)!.rows, state).buffer);
      for (const rep of replicas)
        for (const t of ['a', 'a_wide', 'b']) {
          expect({ t, same: bytes(rep.inner, t).equals(bytes(reference, t)) }).toEqual({ t, same: true });
          if (t !== 'a_wide') expect(bytes(rep.inner, t, 'sum').equals(bytes(reference, t, 'sum'))).toBe(true);
        }
    } finally {
      for (const rep of replicas) rep.inner.dispose();
      reference.dispose();
    }
  });

  it('wrong gradient sizes and a second backward before the ranks synchronized are errors', () => {
    const rep = new ReplicatedCollection(new EmbeddingCollection(options(10)), 2);
    try {
      const b = randomBatch(xorshift(1), 2, 2, 10, false, false);
      expect(() => rep.backwardAndUpdate(b, [new Float32Array(24), new Float32Array(8)], 0.1)).toThrow(
        /Expected dL\/dpooled\[0\] of 2 × 13 floats but received 24/,
      );
      rep.backwardAndUpdate(b, [new Float32Array(26), new Float32Array(8)], 0.1);
      expect(() => rep.backwardAndUpdate(b, [new Float32Array(26), new Float32Array(8)], 0.1)).toThrow(
        /one backward per training step/,
      );
    } finally {
      rep.inner.dispose();
    }
  });
});

describe('dense gradients, packed states, buckets', () => {
  it('averages gradients in rank order (and sums the extras) in any bucket size', async () => {
    const world = new SimWorld(2);
    const make = (k: number) => ({
      w: tf.tensor([1 + k, 2, 3], [3]),
      b: tf.tensor([[0.5 * k]], [1, 1]),
    });
    const env = process.env.TSREC_DIST_BUCKET_MB;
    process.env.TSREC_DIST_BUCKET_MB = String(4 / 2 ** 20); // 1 float per bucket
    try {
      const out = await Promise.all(world.ranks.map((c, k) => allreduceGradients(c, make(k), [k + 1, 10])));
      for (const o of out) {
        expect(Array.from(o.grads.w.dataSync())).toEqual([1.5, 2, 3]);
        expect(Array.from(o.grads.b.dataSync())).toEqual([0.25]);
        expect(o.extra).toEqual([3, 20]);
      }
    } finally {
      if (env === undefined) delete process.env.TSREC_DIST_BUCKET_MB;
      else process.env.TSREC_DIST_BUCKET_MB = env;
    }
  });

  it('packs and unpacks metric states (typed arrays, bigints, nesting)', () => {
    const v = {
      n: 3,
      s: 'x',
      none: null,
      big: 1n << 60n,
      keys: [5n, 7n],
      scores: Float32Array.from([0.25, 0.5]),
      nested: {
        labels: Uint8Array.from([1, 0, 1]),
        ids: BigInt64Array.from([-1n, 2n]),
        d: Float64Array.from([Math.PI]),
      },
    };
    const back = unpackValue(packValue(v)) as typeof v;
    expect(back.n).toBe(3);
    expect(back.s).toBe('x');
    expect(back.none).toBeNull();
    expect(back.big).toBe(1n << 60n);
    expect(back.keys).toEqual([5n, 7n]);
    expect(Array.from(back.scores)).toEqual([0.25, 0.5]);
    expect(back.scores).toBeInstanceOf(Float32Array);
    expect(Array.from(back.nested.labels)).toEqual([1, 0, 1]);
    expect(Array.from(back.nested.ids)).toEqual([-1n, 2n]);
    expect(back.nested.d[0]).toBe(Math.PI);
  });

  it('diverged replicas stop every rank, naming which ranks hold which fingerprint', async () => {
    const world = new SimWorld(3);
    const fps = [7n, 9n, 7n];
    const out = await Promise.allSettled(world.ranks.map((c, k) => checkReplicas(c, fps[k], 'after step 4')));
    for (const o of out) {
      expect(o.status).toBe('rejected');
      expect(String((o as PromiseRejectedResult).reason)).toMatch(
        /identical replicas on every rank after step 4 but the weights fingerprints differ \(ranks 0, 2: 7; rank 1: 9\)/,
      );
    }
    await expect(Promise.all(world.ranks.map((c) => checkReplicas(c, 5n, 'x')))).resolves.toBeDefined();
  });

  it('reads TSREC_DIST_BUCKET_MB', () => {
    expect(bucketFloats({})).toBe(8 * 2 ** 20);
    expect(bucketFloats({ TSREC_DIST_BUCKET_MB: '1' })).toBe(2 ** 18);
    expect(() => bucketFloats({ TSREC_DIST_BUCKET_MB: '0' })).toThrow(/TSREC_DIST_BUCKET_MB in \(0, 4096\]/);
  });
});
