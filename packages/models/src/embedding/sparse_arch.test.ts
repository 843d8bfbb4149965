import * as tf from '@tensorflow/tfjs-core';
import { borrowFloat32, EmbeddingCollection, type SparseBatch } from '@tsrec/native';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import type { PooledEmbeddingCollection } from './pooled_embedding_collection';
import { SparseArch } from './sparse_arch';

beforeAll(() => setUpTfjs('cpu'));

/** A random feature-major batch over tables of the given row counts (bags of 0–3 ids). */
function randomBatch(rng: SeededRandom, rows: number[], B: number): SparseBatch {
  const offsets = [0];
  const indices: number[] = [];
  for (const r of rows) {
    for (let b = 0; b < B; b++) {
      const len = rng.int(4);
      for (let k = 0; k < len; k++) indices.push(rng.int(r));
      offsets.push(indices.length);
    }
  }
  return { indices: Int32Array.from(indices), offsets: Int32Array.from(offsets), batchSize: B };
}

/** A pure-TS collection recording its calls: sum pooling of fixed tables, no update. */
class RecordingCollection implements PooledEmbeddingCollection {
  readonly tables = [
    { name: 'a', dim: 2 },
    { name: 'b', dim: 3 },
  ];
  readonly features = [
    { name: 'a', table: 0, pooledOffset: 0, pooling: 'sum' },
    { name: 'b', table: 1, pooledOffset: 2, pooling: 'sum' },
  ];
  readonly pooledDim = 5;
  lastPooled: Float32Array | null = null;
  updates: { grad: Float32Array; lr: number }[] = [];
  forward(batch: SparseBatch): { pooled: Float32Array } {
    const pooled = Float32Array.from({ length: batch.batchSize * 5 }, (_, i) => i + 1);
    this.lastPooled = pooled;
    return { pooled };
  }
  backwardAndUpdate(_batch: SparseBatch, grad: Float32Array, lr: number): void {
    this.updates.push({ grad: grad.slice(), lr });
  }
}

const batch2: SparseBatch = { indices: new Int32Array(0), offsets: new Int32Array(5), batchSize: 2 };

describe('SparseArch', () => {
  it('forwards without copying and hands dL/dpooled and the current lr to backwardAndUpdate', () => {
    const ebc = new RecordingCollection();
    let lr = 0.5;
    const arch = new SparseArch(ebc, { learningRate: () => lr });
    const w = tf.variable(tf.tensor2d([1, 2, 3, 4, 5], [5, 1]));
    const { grads, value } = tf.variableGrads(() => {
      const pooled = arch.forward(batch2, { training: true });
      // Zero-copy: the tensor's storage is the collection's output buffer.
      expect((pooled.dataSync() as Float32Array).buffer).toBe(ebc.lastPooled!.buffer);
      lr = 0.25; // the schedule moves between forward and backward: backward reads it then
      return tf.sum(tf.matMul(pooled, w)) as tf.Scalar;
    }, [w, ...arch.trainableVariables]);
    expect(value.dataSync()[0]).toBe(1 + 4 + 9 + 16 + 25 + (6 + 14 + 24 + 36 + 50));
    expect(ebc.updates).toHaveLength(1);
    expect(Array.from(ebc.updates[0].grad)).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
    expect(ebc.updates[0].lr).toBe(0.25);
    expect(grads[arch.anchor.name].dataSync()[0]).toBe(0);
    expect(Array.from(grads[w.name].dataSync())).toEqual([7, 9, 11, 13, 15]);
    tf.dispose([w, value, ...Object.values(grads)]);
    arch.dispose();
  });

  it('does not touch the tables outside training and validates the learning rate', () => {
    const ebc = new RecordingCollection();
    const arch = new SparseArch(ebc, { learningRate: 0.1 });
    const w = tf.variable(tf.ones([5, 1]));
    const { grads } = tf.variableGrads(() => tf.sum(tf.matMul(arch.forward(batch2), w)) as tf.Scalar, [w]);
    expect(ebc.updates).toHaveLength(0);
    tf.dispose([w, ...Object.values(grads)]);
    expect(() => new SparseArch(ebc, { learningRate: NaN })).toThrow(
      'Expected a finite number >= 0 for learningRate of SparseArch but received NaN',
    );
  });

  it('selects feature columns, with gradients to the right columns', () => {
    const ebc = new RecordingCollection();
    const arch = new SparseArch(ebc, { learningRate: 1 });
    expect(arch.columnsOf(['b', 'a'])).toEqual([2, 3, 4, 0, 1]);
    expect(() => arch.columnsOf(['c'])).toThrow(
      "Expected a feature of the embedding collection (a, b) but received 'c'",
    );
    const anchorGrad = tf.variableGrads(() => {
      const pooled = arch.forward(batch2, { training: true });
      expect(Array.from(arch.select(pooled, ['b']).dataSync())).toEqual([3, 4, 5, 8, 9, 10]);
      return tf.sum(arch.select(pooled, ['b', 'a'])) as tf.Scalar;
    }, arch.trainableVariables);
    expect(Array.from(ebc.updates[0].grad)).toEqual(new Array(10).fill(1));
    tf.dispose(Object.values(anchorGrad.grads));
  });

  it('trains a real EmbeddingCollection: SGD rows move by -lr · Σ dL/dpooled of their bags', () => {
    const rng = new SeededRandom(3);
    const ebc = new EmbeddingCollection({
      tables: [
        { name: 'user', rows: 20, dim: 4 },
        { name: 'item', rows: 9, dim: 8 },
      ],
      optimizer: { type: 'sgd' },
      seed: 5,
    });
    const B = 6;
    const D = ebc.pooledDim;
    const batch = randomBatch(rng, [20, 9], B);
    const before = [ebc.readRows('user', 0, 20), ebc.readRows('item', 0, 9)];
    const C = tf.tensor2d(
      rng.array(B * D, () => rng.normal()),
      [B, D],
    );
    const lr = 0.1;
    const arch = new SparseArch(ebc, { learningRate: lr });
    const opt = tf.train.sgd(0.01);
    const loss = opt.minimize(
      () => tf.sum(tf.mul(arch.forward(batch, { training: true }), C)) as tf.Scalar,
      true,
      arch.trainableVariables,
    )!;
    // Reference: dL/dpooled = C; each id's row gets -lr * C[b, columns of its feature].
    const c = C.dataSync();
    const want = before.map((t) => t.slice());
    const dims = [4, 8];
    const colStart = [0, 4];
    for (let f = 0; f < 2; f++) {
      for (let b = 0; b < B; b++) {
        for (let k = batch.offsets[f * B + b] as number; k < (batch.offsets[f * B + b + 1] as number); k++) {
          const r = batch.indices[k] as number;
          for (let d = 0; d < dims[f]; d++) want[f][r * dims[f] + d] -= lr * c[b * D + colStart[f] + d];
        }
      }
    }
    const after = [ebc.readRows('user', 0, 20), ebc.readRows('item', 0, 9)];
    for (let f = 0; f < 2; f++) for (let i = 0; i < want[f].length; i++) expect(after[f][i]).toBeCloseTo(want[f][i], 5);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    tf.dispose([loss, C]);
    arch.dispose();
    ebc.dispose();
  });

  test('on the tsrec backend the pooled output reuses a pooled array once its tensor is disposed, with the same values', async () => {
    await setUpTfjs('tsrec');
    const ebc = new EmbeddingCollection({
      tables: [
        { name: 'user', rows: 50, dim: 8 },
        { name: 'item', rows: 30, dim: 8 },
      ],
      optimizer: { type: 'sgd' },
      seed: 3,
    });
    try {
      const rng = new SeededRandom(11);
      const B = 1024; // B * 16 floats: above the backend pool's minimum length
      const arch = new SparseArch(ebc, { learningRate: 0 });
      const first = randomBatch(rng, [50, 30], B);
      const second = randomBatch(rng, [50, 30], B);
      const t1 = arch.forward(first);
      const v1 = borrowFloat32(t1);
      expect(Array.from(v1)).toEqual(Array.from(ebc.forward(first).pooled));
      t1.dispose();
      // Stale contents of the reused array must be overwritten, empty bags included.
      const t2 = arch.forward(second);
      const v2 = borrowFloat32(t2);
      expect(v2.buffer).toBe(v1.buffer);
      expect(Array.from(v2)).toEqual(Array.from(ebc.forward(second).pooled));
      // While t2 lives, another forward must not get its array.
      const t3 = arch.forward(first);
      expect(borrowFloat32(t3).buffer).not.toBe(v2.buffer);
      tf.dispose([t2, t3]);
      arch.dispose();
    } finally {
      ebc.dispose();
      await setUpTfjs('cpu');
    }
  });
});
