import * as tf from '@tensorflow/tfjs-core';
import { borrowFloat32, outputFloat32, type SparseBatch } from '@tsrec/native';

import type { PooledEmbeddingCollection } from './pooled_embedding_collection';
import { selectColumns } from './select_columns';

/** A learning rate, or a function the backward pass calls for the current one (a schedule). */
export type LearningRate = number | (() => number);

/** Options of `SparseArch`. */
export interface SparseArchOptions {
  /** Learning rate of the fused sparse optimizer step; the trainer updates it per step. */
  learningRate: LearningRate;
  /** Name prefix of the arch's variables (default `sparse_arch`). */
  name?: string;
}

let nextId = 0;

/**
 * The bridge between an embedding collection and tfjs (torchrec's SparseArch). `forward` pools
 * a batch's sparse part into a [B, Σdim] tensor that shares the collection's output buffer;
 * in training mode that tensor is the output of a custom-gradient op whose backward hands
 * dL/dpooled straight to `backwardAndUpdate(batch, grad, lr)`, so the tables are updated by
 * the fused native optimizer and no sparse gradient is ever built.
 *
 * tfjs only runs a gradient function on a path from a variable being differentiated, so the op
 * hangs off `anchor`, a scalar variable whose gradient is always zero: include
 * `trainableVariables` in the variable list given to the optimizer (models do).
 * Each training forward must be followed by at most one backward: a second `tf.grads` over
 * the same forward would apply the sparse update twice.
 */
export class SparseArch {
  readonly collection: PooledEmbeddingCollection;
  readonly name: string;
  /** The zero-gradient variable that puts the sparse update on tfjs's gradient tape. */
  readonly anchor: tf.Variable;
  learningRate: LearningRate;

  constructor(collection: PooledEmbeddingCollection, options: SparseArchOptions) {
    if (!collection || typeof collection.forward !== 'function' || typeof collection.backwardAndUpdate !== 'function') {
      throw new TypeError(`Expected an embedding collection (forward, backwardAndUpdate, pooledDim) for collection but received ${typeof collection}`);
    }
    this.collection = collection;
    this.name = options.name ?? 'sparse_arch';
    this.learningRate = options.learningRate;
    currentLearningRate(this.learningRate);
    this.anchor = tf.variable(tf.scalar(0), true, `${this.name}/anchor_${nextId++}`);
  }

  /** Columns of the pooled output. */
  get pooledDim(): number {
    return this.collection.pooledDim;
  }

  /** The variables the optimizer must differentiate (the anchor only: tables live natively). */
  get trainableVariables(): tf.Variable[] {
    return [this.anchor];
  }

  /**
   * Pools `batch` into a [B, pooledDim] float32 tensor without copying. With `training`, the
   * tensor's gradient updates the tables at the current learning rate during backprop.
   */
  forward(batch: SparseBatch, options: { training?: boolean } = {}): tf.Tensor2D {
    const B = batch.batchSize;
    const D = this.collection.pooledDim;
    // Pooled into an array of the tsrec backend's output pool (reused once the tensor is disposed:
    // a fresh 7 MB array cost ~3 ms a step, more than the lookup). This realm's array, so tfjs,
    // which keeps typed arrays it is given, sees its own Float32Array even under jest.
    const out = outputFloat32(B * D);
    const { pooled } = this.collection.forward(batch, { pooled: out });
    // A collection that ignores `out` returns its own array: a view of it in this realm.
    const values = pooled.buffer === out.buffer ? out : new Float32Array(pooled.buffer, pooled.byteOffset, pooled.length);
    if (!options.training) return tf.tensor2d(values, [B, D], 'float32');
    const op = tf.customGrad(((anchor: tf.Tensor) => ({
      value: tf.tensor2d(values, [B, D], 'float32'),
      gradFunc: (dy: tf.Tensor) => {
        // Borrowed, not copied: the backward reads it before anything can reuse the buffer.
        const g = borrowFloat32(dy);
        const grad = new Float32Array(g.buffer, g.byteOffset, g.length);
        this.collection.backwardAndUpdate(batch, grad, currentLearningRate(this.learningRate));
        return tf.zerosLike(anchor);
      },
    })) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
    return op(this.anchor);
  }

  /** Output columns of the named features, in the order given (for feature groups). */
  columnsOf(featureNames: readonly string[]): number[] {
    const cols: number[] = [];
    for (const name of featureNames) {
      const f = this.collection.features.find((x) => x.name === name);
      if (!f) {
        throw new RangeError(`Expected a feature of the embedding collection (${this.collection.features.map((x) => x.name).join(', ')}) but received '${name}'`);
      }
      if (f.pooledOffset < 0) throw new RangeError(`Expected a pooled (sum/mean) feature but received '${name}' with pooling ${f.pooling}`);
      const dim = this.collection.tables[f.table].dim;
      for (let d = 0; d < dim; d++) cols.push(f.pooledOffset + d);
    }
    return cols;
  }

  /** The named features' columns of a pooled tensor, side by side (the tensor itself when all, in order). */
  select(pooled: tf.Tensor2D, featureNames: readonly string[]): tf.Tensor2D {
    return selectColumns(pooled, this.columnsOf(featureNames));
  }

  /** Disposes the anchor variable (the collection belongs to the caller). */
  dispose(): void {
    this.anchor.dispose();
  }
}

function currentLearningRate(lr: LearningRate): number {
  const v = typeof lr === 'function' ? lr() : lr;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`Expected a finite number >= 0 for learningRate of SparseArch but received ${v}`);
  return v;
}
