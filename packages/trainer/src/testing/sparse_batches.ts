import type { SparseBatch } from '@tsrec/native';

/** A seeded xorshift32 stream of numbers in [0, 1) (the distributed tests' random shapes). */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/**
 * The batches concatenated in rank order, feature-major (`F` features): the global batch a
 * distributed collection updates with — the plain reference of the tests. Int64 ids stay int64.
 */
export function concatBatches(batches: readonly SparseBatch[], F: number): SparseBatch {
  const ids: number[] = [];
  const w: number[] = [];
  const offs = [0];
  for (let f = 0; f < F; f++)
    for (const b of batches)
      for (let s = 0; s < b.batchSize; s++) {
        const from = Number(b.offsets[f * b.batchSize + s]);
        const to = Number(b.offsets[f * b.batchSize + s + 1]);
        for (let k = from; k < to; k++) {
          ids.push(Number(b.indices[k]));
          if (b.weights) w.push(b.weights[k]);
        }
        offs.push(ids.length);
      }
  const wide = batches[0].indices instanceof BigInt64Array;
  return {
    indices: wide ? BigInt64Array.from(ids.map(BigInt)) : Int32Array.from(ids),
    offsets: wide ? BigInt64Array.from(offs.map(BigInt)) : Int32Array.from(offs),
    weights: batches.some((b) => b.weights) ? Float32Array.from(w) : null,
    batchSize: batches.reduce((a, b) => a + b.batchSize, 0),
  };
}

/**
 * The reference update of a step of W ranks: the batches of the ranks that had one, concatenated
 * in rank order, with their dL/dpooled (one array per pooled output) concatenated and × 1/W.
 */
export function globalStep(
  batches: readonly (SparseBatch | null)[],
  grads: readonly (Float32Array[] | null)[],
  outputs: number,
  F: number,
  w: number,
): { batch: SparseBatch; grads: Float32Array[] } {
  const present = batches.map((b, k) => ({ b, g: grads[k] })).filter((x) => x.b);
  const scaled = Array.from({ length: outputs }, (_, o) => {
    const parts = present.map((x) => x.g![o]);
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      for (let i = 0; i < p.length; i++) out[at + i] = p[i] * (1 / w);
      at += p.length;
    }
    return out;
  });
  return {
    batch: concatBatches(
      present.map((x) => x.b!),
      F,
    ),
    grads: scaled,
  };
}
