/**
 * Plain TypeScript reference of the TBE contract (forward, fused backward + every sparse
 * optimizer). Slow and obvious on purpose: tests compare the native kernels against it.
 */
import type { ResolvedFeature, ResolvedTable, SparseBatch, SparseOptimizerSpec } from './embedding_collection';

/** Weights and optimizer state of every table, as plain arrays. */
export interface ReferenceState {
  weights: Float32Array[];
  /** states[t][k]: k-th optimizer state of table t (OPTIMIZER_STATES order). */
  states: Float32Array[][];
  step: number;
}

interface Geometry {
  tables: readonly ResolvedTable[];
  features: readonly ResolvedFeature[];
  pooledDim: number;
}

function bagRange(batch: SparseBatch, k: number): [number, number] {
  return [Number(batch.offsets[k]), Number(batch.offsets[k + 1])];
}

/** Forward: pooled [B, pooledDim] and the NONE features' rows, feature after feature. */
export function forward(
  g: Geometry,
  weights: Float32Array[],
  batch: SparseBatch,
): { pooled: Float32Array; sequence: Float32Array } {
  const B = batch.batchSize;
  const pooled = new Float32Array(B * g.pooledDim);
  const seq: number[] = [];
  g.features.forEach((f, fi) => {
    const dim = g.tables[f.table].dim;
    const W = weights[f.table];
    for (let b = 0; b < B; b++) {
      const [s, e] = bagRange(batch, fi * B + b);
      if (f.pooling === 'none') {
        for (let i = s; i < e; i++) {
          const w = batch.weights ? batch.weights[i] : 1;
          const row = Number(batch.indices[i]);
          for (let d = 0; d < dim; d++) seq.push(w * W[row * dim + d]);
        }
        continue;
      }
      for (let d = 0; d < dim; d++) {
        let acc = 0;
        for (let i = s; i < e; i++)
          acc += (batch.weights ? batch.weights[i] : 1) * W[Number(batch.indices[i]) * dim + d];
        if (f.pooling === 'mean' && e > s) acc /= e - s;
        pooled[b * g.pooledDim + f.pooledOffset + d] = acc;
      }
    }
  });
  return { pooled, sequence: Float32Array.from(seq) };
}

/** Fused backward + optimizer, exact semantics; mutates `state`. */
export function backwardAndUpdate(
  g: Geometry,
  opt: Required<SparseOptimizerSpec>,
  state: ReferenceState,
  batch: SparseBatch,
  gradPooled: Float32Array,
  gradSequence: Float32Array | null,
  lr: number,
): void {
  const B = batch.batchSize;
  state.step += 1;
  const t = state.step;
  // Where each NONE feature's block starts in the sequence gradient.
  const seqStart = new Map<number, number>();
  let acc = 0;
  g.features.forEach((f, fi) => {
    if (f.pooling !== 'none') return;
    seqStart.set(fi, acc);
    acc += (Number(batch.offsets[(fi + 1) * B]) - Number(batch.offsets[fi * B])) * g.tables[f.table].dim;
  });
  const clip = (x: number) => (opt.maxGradient > 0 ? Math.min(opt.maxGradient, Math.max(-opt.maxGradient, x)) : x);
  // The gradient sum is accumulated in float32, in position order, as the kernels do: when
  // contributions cancel, the float32 residual is what Adam's g / (|g| + eps) amplifies.
  const f32 = Math.fround;

  g.tables.forEach((table, ti) => {
    const dim = table.dim;
    const grads = new Map<number, number[]>();
    g.features.forEach((f, fi) => {
      if (f.table !== ti) return;
      for (let b = 0; b < B; b++) {
        const [s, e] = bagRange(batch, fi * B + b);
        for (let i = s; i < e; i++) {
          const row = Number(batch.indices[i]);
          let scale = batch.weights ? batch.weights[i] : 1;
          if (f.pooling === 'mean') scale = f32(scale / (e - s));
          const gr = grads.get(row) ?? new Array<number>(dim).fill(0);
          for (let d = 0; d < dim; d++) {
            const go =
              f.pooling === 'none'
                ? gradSequence![seqStart.get(fi)! + (i - Number(batch.offsets[fi * B])) * dim + d]
                : gradPooled[b * g.pooledDim + f.pooledOffset + d];
            gr[d] = f32(gr[d] + f32(scale * f32(clip(go))));
          }
          grads.set(row, gr);
        }
      }
    });
    const W = state.weights[ti];
    const S = state.states[ti];
    for (const [row, gr] of grads) {
      const base = row * dim;
      const lambda = opt.weightDecay;
      const gp = gr.map((v, d) => (opt.weightDecayMode === 'l2' ? f32(v + f32(f32(lambda) * W[base + d])) : v));
      const old = Array.from(W.subarray(base, base + dim));
      const decoupled = (d: number) => (opt.weightDecayMode === 'decouple' ? lr * lambda * old[d] : 0);
      if (opt.type === 'sgd') {
        for (let d = 0; d < dim; d++) W[base + d] = old[d] - lr * gp[d] - decoupled(d);
      } else if (opt.type === 'adagrad') {
        for (let d = 0; d < dim; d++) {
          S[0][base + d] += gp[d] * gp[d];
          W[base + d] = old[d] - (lr * gp[d]) / (Math.sqrt(S[0][base + d]) + opt.eps) - decoupled(d);
        }
      } else if (opt.type === 'rowwise_adagrad') {
        S[0][row] += gp.reduce((s, v) => s + v * v, 0) / dim;
        const mult = lr / (Math.sqrt(S[0][row]) + opt.eps);
        for (let d = 0; d < dim; d++) W[base + d] = old[d] - mult * gp[d] - decoupled(d);
      } else {
        const bc1 = 1 - opt.beta1 ** t;
        const bc2 = 1 - opt.beta2 ** t;
        for (let d = 0; d < dim; d++) {
          S[0][base + d] = opt.beta1 * S[0][base + d] + (1 - opt.beta1) * gp[d];
          S[1][base + d] = opt.beta2 * S[1][base + d] + (1 - opt.beta2) * gp[d] * gp[d];
          W[base + d] =
            old[d] - (lr * (S[0][base + d] / bc1)) / (Math.sqrt(S[1][base + d] / bc2) + opt.eps) - decoupled(d);
        }
      }
      if (opt.maxNorm > 0) {
        let n2 = 0;
        for (let d = 0; d < dim; d++) n2 += W[base + d] * W[base + d];
        const n = Math.sqrt(n2);
        if (n > opt.maxNorm) for (let d = 0; d < dim; d++) W[base + d] *= opt.maxNorm / n;
      }
    }
  });
}
