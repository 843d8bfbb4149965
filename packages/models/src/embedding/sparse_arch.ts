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
      throw new TypeError(
        `Expected an embedding collection (forward, backwardAndUpdate, pooledDim) for collection but received ${typeof collection}`,
      );
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

  /** Columns of each pooled output. */
  get pooledDims(): readonly number[] {
    return this.collection.pooledDims ?? [this.collection.pooledDim];
  }

  /**
   * Pools `batch` into a [B, pooledDim] float32 tensor without copying. With `training`, the
   * tensor's gradient updates the tables at the current learning rate during backprop.
   * For a collection with one pooled output (see `forwardOutputs`).
   */
  forward(batch: SparseBatch, options: { training?: boolean } = {}): tf.Tensor2D {
    if (this.pooledDims.length !== 1)
      throw new Error(
        `Expected a collection with one pooled output for SparseArch.forward but '${this.name}' has ${this.pooledDims.length}: use forwardOutputs`,
      );
    return this.forwardOutputs(batch, options)[0];
  }

  /**
   * Pools `batch` into one [B, pooledDims[o]] tensor per pooled output, without copying. With
   * `training`, their gradients reach one fused `backwardAndUpdate` with every output's
   * gradient (an output the loss does not use contributes zeros).
   */
  forwardOutputs(batch: SparseBatch, options: { training?: boolean } = {}): tf.Tensor2D[] {
    const B = batch.batchSize;
    const dims = this.pooledDims;
    // Pooled into arrays of the tsrec backend's output pool (reused once the tensor is disposed:
    // a fresh 7 MB array cost ~3 ms a step, more than the lookup). This realm's arrays, so tfjs,
    // which keeps typed arrays it is given, sees its own Float32Array even under jest.
    const outs = dims.map((d) => outputFloat32(B * d));
    const res = this.collection.forward(batch, dims.length === 1 ? { pooled: outs[0] } : { outputs: outs });
    // A collection that ignores `out` returns its own arrays: views of them in this realm.
    const values = (res.outputs ?? [res.pooled]).map((a, o) =>
      a.buffer === outs[o].buffer ? outs[o] : new Float32Array(a.buffer, a.byteOffset, a.length),
    );
    if (!options.training) return values.map((v, o) => tf.tensor2d(v, [B, dims[o]], 'float32'));
    const N = dims.length;
    const lr = () => currentLearningRate(this.learningRate);
    if (N === 1) {
      const op = tf.customGrad(((anchor: tf.Tensor) => ({
        value: tf.tensor2d(values[0], [B, dims[0]], 'float32'),
        gradFunc: (dy: tf.Tensor) => {
          // Borrowed, not copied: the backward reads it before anything can reuse the buffer.
          const g = borrowFloat32(dy);
          this.collection.backwardAndUpdate(batch, new Float32Array(g.buffer, g.byteOffset, g.length), lr());
          return tf.zerosLike(anchor);
        },
      })) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
      return [op(this.anchor)];
    }
    // Several outputs, one fused backward: a scalar token op is recorded first (input: the
    // anchor), then one op per output taking the token. tfjs differentiates in reverse recording
    // order, so every output's gradient function (which only keeps its gradient) runs before the
    // token's, which then applies the backward with all of them; an output the loss does not use
    // contributes zeros. Gradients are borrowed, not copied: the engine keeps them alive until
    // the backprop ends. The extra gradients are scalars.
    const grads: (Float32Array | null)[] = new Array(N).fill(null);
    const token = tf.customGrad(((anchor: tf.Tensor) => ({
      value: tf.scalar(0),
      gradFunc: () => {
        const all = grads.map((x, i) => x ?? new Float32Array(B * dims[i]));
        this.collection.backwardAndUpdate(batch, all, lr());
        return tf.zerosLike(anchor);
      },
    })) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0])(this.anchor);
    const tensors = values.map((v, o) =>
      tf.customGrad(((tok: tf.Tensor) => ({
        value: tf.tensor2d(v, [B, dims[o]], 'float32'),
        gradFunc: (dy: tf.Tensor) => {
          const g = borrowFloat32(dy);
          grads[o] = new Float32Array(g.buffer, g.byteOffset, g.length);
          return tf.zerosLike(tok);
        },
      })) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0])(token),
    );
    return tensors;
  }

  /** Output columns of the named features in pooled output `output`, in the order given (for feature groups). */
  columnsOf(featureNames: readonly string[], output = 0): number[] {
    const cols: number[] = [];
    for (const name of featureNames) {
      const f = this.collection.features.find((x) => x.name === name);
      if (!f) {
        throw new RangeError(
          `Expected a feature of the embedding collection (${this.collection.features.map((x) => x.name).join(', ')}) but received '${name}'`,
        );
      }
      if (f.pooledOffset < 0)
        throw new RangeError(`Expected a pooled (sum/mean) feature but received '${name}' with pooling ${f.pooling}`);
      const members = f.members ?? [{ table: f.table, output: 0, offset: f.pooledOffset }];
      const mine = members.filter((m) => m.output === output);
      if (mine.length === 0)
        throw new RangeError(
          `Expected feature '${name}' to pool columns into output ${output} of '${this.name}' but it pools into ${[...new Set(members.map((m) => m.output))].join(', ')}`,
        );
      for (const m of mine) {
        const dim = this.collection.tables[m.table].dim;
        for (let d = 0; d < dim; d++) cols.push(m.offset + d);
      }
    }
    return cols;
  }

  /** The named features' columns of a pooled tensor (output `output`), side by side (the tensor itself when all, in order). */
  select(pooled: tf.Tensor2D, featureNames: readonly string[], output = 0): tf.Tensor2D {
    return selectColumns(pooled, this.columnsOf(featureNames, output));
  }

  /** Disposes the anchor variable (the collection belongs to the caller). */
  dispose(): void {
    this.anchor.dispose();
  }
}

function currentLearningRate(lr: LearningRate): number {
  const v = typeof lr === 'function' ? lr() : lr;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new RangeError(`Expected a finite number >= 0 for learningRate of SparseArch but received ${v}`);
  return v;
}
