import * as tf from '@tensorflow/tfjs-core';

/** One output column: column `column` of source `source`. */
export interface ColumnPick {
  source: number;
  column: number;
}

/**
 * Builds [B, picks.length] from columns of several [B, W_s] tensors, as one custom-gradient op
 * (forward: copy columns; backward: add each output column's gradient into its source column).
 * Feature groups are assembled this way instead of slice/concat/gather, whose cpu-backend
 * gradients (SplitV, per-element Slice, UnsortedSegmentSum) cost tens to hundreds of ms per
 * step at batch 256; the loops here are a few microseconds and a native kernel can take over.
 * Returns the source itself when it is picked whole and in order.
 */
export function assembleColumns(sources: readonly tf.Tensor2D[], picks: readonly ColumnPick[]): tf.Tensor2D {
  if (sources.length === 0)
    throw new RangeError('Expected at least one source tensor for assembleColumns but received none');
  const B = sources[0].shape[0];
  sources.forEach((s, i) => {
    if (s.rank !== 2 || s.shape[0] !== B)
      throw new RangeError(
        `Expected source ${i} of assembleColumns to be [${B}, W] but received [${s.shape.join(', ')}]`,
      );
  });
  for (const p of picks) {
    if (!(p.source >= 0 && p.source < sources.length) || !(p.column >= 0 && p.column < sources[p.source].shape[1])) {
      throw new RangeError(
        `Expected a column of one of ${sources.length} sources for assembleColumns but received source ${p.source}, column ${p.column}`,
      );
    }
  }
  const first = picks[0]?.source ?? 0;
  if (picks.length === sources[first].shape[1] && picks.every((p, i) => p.source === first && p.column === i))
    return sources[first];
  const N = picks.length;
  const widths = sources.map((s) => s.shape[1]);
  // Whole sources side by side: a concat, whose gradient is a split; both are native kernels on
  // the `tsrec` backend (the cpu backend's split gradient is the slow path the loops below avoid).
  const order = wholeSources(widths, picks);
  if (order && tf.getBackend() === 'tsrec')
    return tf.concat(
      order.map((i) => sources[i]),
      1,
    );
  // Maximal runs of consecutive columns of one source: rows are copied run by run (contiguous
  // memory on both sides), not column by column (a strided walk over the whole batch per column).
  const runs: { source: number; from: number; to: number; len: number }[] = [];
  for (let j = 0; j < N; ) {
    let k = j + 1;
    while (k < N && picks[k].source === picks[j].source && picks[k].column === picks[k - 1].column + 1) k++;
    runs.push({ source: picks[j].source, from: picks[j].column, to: j, len: k - j });
    j = k;
  }
  const run = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, sources.length) as tf.Tensor2D[];
    const data = inputs.map((t) => t.dataSync() as Float32Array);
    const out = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      for (const r of runs) {
        const at = b * widths[r.source] + r.from;
        out.set(data[r.source].subarray(at, at + r.len), b * N + r.to);
      }
    }
    return {
      value: tf.tensor2d(out, [B, N], 'float32'),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const grads = widths.map((W) => new Float32Array(B * W));
        for (let b = 0; b < B; b++) {
          for (const r of runs) {
            const dst = grads[r.source];
            const d0 = b * widths[r.source] + r.from;
            const g0 = b * N + r.to;
            for (let i = 0; i < r.len; i++) dst[d0 + i] += g[g0 + i];
          }
        }
        return grads.map((d, i) => tf.tensor2d(d, [B, widths[i]], 'float32'));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return run(...sources);
}

/**
 * The sources in output order when `picks` are whole sources side by side (each source's columns
 * 0..W-1 in order, each source at most once, none empty), else null (also for no picks). Picks
 * must name existing sources (callers validate).
 */
export function wholeSources(widths: readonly number[], picks: readonly ColumnPick[]): number[] | null {
  if (picks.length === 0) return null;
  const order: number[] = [];
  for (let j = 0; j < picks.length; ) {
    const s = picks[j].source;
    const w = widths[s];
    if (w === 0 || order.includes(s) || j + w > picks.length) return null;
    for (let c = 0; c < w; c++) if (picks[j + c].source !== s || picks[j + c].column !== c) return null;
    order.push(s);
    j += w;
  }
  return order;
}

/** Columns `cols` of one [B, W] tensor, side by side (the tensor itself when all, in order). */
export function selectColumns(src: tf.Tensor2D, cols: readonly number[]): tf.Tensor2D {
  return assembleColumns(
    [src],
    cols.map((column) => ({ source: 0, column })),
  );
}

/** [B, Σ W_i] from [B, W_i] tensors side by side (tf.concat on axis 1, with the fast gradient). */
export function concatColumns(parts: readonly tf.Tensor2D[]): tf.Tensor2D {
  if (parts.length === 1) return parts[0];
  const picks: ColumnPick[] = [];
  parts.forEach((p, source) => {
    for (let column = 0; column < p.shape[1]; column++) picks.push({ source, column });
  });
  return assembleColumns(parts, picks);
}
