/**
 * The TBE benchmark workloads of issue 2 (batch 4096) and their input generators: Zipf(1.05)
 * ids by rejection-inversion sampling, scattered over the table by a multiplicative bijection
 * (hashed ids put hot rows anywhere, not at the start of the table).
 */
import type { Pooling } from '../embedding_collection';

/** One benchmark workload. */
export interface Workload {
  name: string;
  tables: { rows: number; dim: number }[];
  bag: number;
  dist: 'zipf' | 'uniform';
  pooling: Pooling;
}

export const WORKLOADS: Workload[] = [
  {
    name: 'dlrm26',
    tables: [...Array.from({ length: 25 }, () => ({ rows: 1_000_000, dim: 16 })), { rows: 10_000_000, dim: 16 }],
    bag: 1,
    dist: 'zipf',
    pooling: 'sum',
  },
  { name: 'multihot20', tables: [{ rows: 10_000_000, dim: 64 }], bag: 20, dist: 'uniform', pooling: 'sum' },
  { name: 'wide128', tables: [{ rows: 1_000_000, dim: 128 }], bag: 20, dist: 'zipf', pooling: 'mean' },
];

/** Deterministic uniform [0, 1) generator (mulberry32). */
export function uniformRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Zipf(s) ranks in [1, n] by rejection-inversion (Hoermann & Derflinger 1996). */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const h = (x: number) => Math.exp((1 - s) * Math.log(x)) / (1 - s);
  const hInv = (x: number) => Math.exp(Math.log((1 - s) * x) / (1 - s));
  const hX1 = h(1.5) - 1;
  const hN = h(n + 0.5);
  const sThr = 2 - hInv(h(2.5) - Math.exp(-s * Math.log(2)));
  return () => {
    for (;;) {
      const u = hN + rand() * (hX1 - hN);
      const x = hInv(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > n) k = n;
      if (k - x <= sThr || u >= h(k + 0.5) - Math.exp(-Math.log(k) * s)) return k;
    }
  };
}

/** A batch of the workload: feature-major ids and offsets (every bag has `bag` ids). */
export function makeBatch(w: Workload, B: number, seed: number): { indices: Int32Array; offsets: Int32Array } {
  const rand = uniformRng(seed);
  const F = w.tables.length;
  const indices = new Int32Array(F * B * w.bag);
  const offsets = new Int32Array(F * B + 1);
  let p = 0;
  for (let f = 0; f < F; f++) {
    const n = w.tables[f].rows;
    const zipf = zipfSampler(n, 1.05, rand);
    // 2654435761 is odd and prime, so coprime with these table sizes: a bijection on [0, n).
    const scatter = (r: number) => Number((BigInt(r) * 2654435761n + BigInt(f) * 97n) % BigInt(n));
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < w.bag; i++) indices[p++] = w.dist === 'zipf' ? scatter(zipf() - 1) : Math.floor(rand() * n);
      offsets[f * B + b + 1] = p;
    }
  }
  return { indices, offsets };
}
