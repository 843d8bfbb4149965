import * as fs from 'node:fs';

/**
 * A synthetic Criteo-like data set whose labels come from a planted model, so the best AUC any
 * model can reach on it is known: the AUC of the true click probability.
 *
 * Columns (Criteo's order): `label`, `I1..I13` (counts, heavy-tailed, some missing),
 * `C1..C26` (8-hex-digit ids, Zipf-distributed ranks over per-column cardinalities, some missing).
 * Planted logit = bias + Σ_c w_c[id_c] + Σ_(c,c') <v_c[id_c], v_c'[id_c']> + Σ_d a_d·log1p(I_d),
 * with w, v and a drawn from the seed (ids' parameters derive from a hash of (seed, column, id),
 * so no table is stored). Every row depends only on (seed, row index): generating in chunks or
 * in parallel gives the same rows.
 */
export interface CriteoSyntheticOptions {
  rows: number;
  seed?: number;
  /** Ids per categorical column (26 values; default: Criteo-like, 10 .. 1e6 scaled by `cardinalityScale`). */
  cardinalities?: number[];
  /** Multiplies the default cardinalities (default 1). */
  cardinalityScale?: number;
  /** Zipf exponent of id ranks (default 1.1). */
  zipfExponent?: number;
  /** Probability that a value is missing (default 0.05 for C, 0.15 for I). */
  missingRateCategorical?: number;
  missingRateDense?: number;
  /** Standard deviation of per-id weights (default 0.2) and of the factor entries (default 0.3). */
  weightScale?: number;
  factorScale?: number;
  /** Bias of the logit (default -1.3, about 25% clicks as Criteo). */
  bias?: number;
}

/** Criteo's 26 categorical cardinality orders of magnitude (a compressed version of the real ones). */
export const DEFAULT_CARDINALITIES = [
  1460, 583, 100000, 50000, 305, 24, 12517, 633, 3, 93145, 5683, 80000, 3194, 27, 14992, 60000, 10, 5652, 2173, 4,
  70000, 18, 15, 28000, 105, 14000,
];

/** Column names in Criteo order. */
export const CRITEO_COLUMNS = [
  'label',
  ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`),
  ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`),
];

const FACTOR_PAIRS: [number, number][] = [
  [0, 1],
  [2, 3],
  [4, 5],
  [6, 7],
  [8, 9],
  [10, 11],
  [12, 13],
  [14, 15],
  [16, 17],
  [18, 19],
  [20, 21],
  [22, 23],
  [24, 25],
  [0, 2],
  [3, 9],
  [6, 12],
];
const K = 4;

/** One generated chunk: Criteo columns plus the planted probability of each row. */
export interface CriteoChunk {
  labels: Int32Array;
  dense: Float64Array; // [rows, 13], NaN = missing
  categorical: (string | null)[][]; // [26][rows]
  probability: Float64Array;
}

// 32-bit mixing (murmur3 finalizer): a stateless hash for per-row and per-id randomness.
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash3(a: number, b: number, c: number): number {
  return mix32(mix32(mix32(a ^ 0x9e3779b9) ^ b) + Math.imul(c, 0x27d4eb2d));
}

/** Uniform (0, 1) from a 32-bit hash. */
function unit(h: number): number {
  return (h + 0.5) / 4294967296;
}

/** Normal from two hashes. */
function gauss(h1: number, h2: number): number {
  return Math.sqrt(-2 * Math.log(unit(h1))) * Math.cos(2 * Math.PI * unit(h2));
}

/** The generator; `chunk(start, n)` gives rows [start, start + n). */
export class CriteoSynthetic {
  readonly cardinalities: number[];
  private readonly seed: number;
  private readonly s: number;
  private readonly denseW: Float64Array;
  private readonly denseScale: Float64Array;

  constructor(readonly options: CriteoSyntheticOptions) {
    this.seed = (options.seed ?? 0) >>> 0;
    const scale = options.cardinalityScale ?? 1;
    this.cardinalities = (
      options.cardinalities ?? DEFAULT_CARDINALITIES.map((c) => Math.max(2, Math.round(c * scale)))
    ).slice();
    if (this.cardinalities.length !== 26 || this.cardinalities.some((c) => !Number.isInteger(c) || c < 1)) {
      throw new RangeError(
        `Expected 26 positive integers for cardinalities but received [${this.cardinalities.join(', ')}]`,
      );
    }
    this.s = options.zipfExponent ?? 1.1;
    this.denseW = Float64Array.from(
      { length: 13 },
      (_, d) => 0.25 * gauss(hash3(this.seed, 1000 + d, 1), hash3(this.seed, 1000 + d, 2)),
    );
    this.denseScale = Float64Array.from({ length: 13 }, (_, d) => 2 + 60 * unit(hash3(this.seed, 2000 + d, 3)));
  }

  /** Rank (0 = most frequent) drawn by the continuous inverse of a power law with exponent s on [1, n+1). */
  private zipf(u: number, n: number): number {
    const a = 1 - this.s;
    const r = Math.abs(a) < 1e-9 ? Math.exp(u * Math.log(n + 1)) : (1 + u * ((n + 1) ** a - 1)) ** (1 / a);
    return Math.min(n - 1, Math.max(0, Math.floor(r) - 1));
  }

  /** The 8-hex-digit token of id `rank` in column c (stable for a seed). */
  token(c: number, rank: number): string {
    return hash3(this.seed, 50 + c, rank)
      .toString(16)
      .padStart(8, '0');
  }

  // Per-id parameters [w, v_0 .. v_K-1], memoized (Zipf ids repeat; the cache is bounded).
  private readonly params = Array.from({ length: 26 }, () => new Map<number, Float64Array>());
  private idParams(c: number, rank: number): Float64Array {
    const m = this.params[c];
    let p = m.get(rank);
    if (p) return p;
    p = new Float64Array(1 + K);
    p[0] = (this.options.weightScale ?? 0.2) * gauss(hash3(this.seed, 100 + c, rank), hash3(this.seed, 200 + c, rank));
    const fs = this.options.factorScale ?? 0.3;
    for (let k = 0; k < K; k++)
      p[1 + k] = fs * gauss(hash3(this.seed, 300 + c * 8 + k, rank), hash3(this.seed, 600 + c * 8 + k, rank));
    if (m.size > 200000) m.clear();
    m.set(rank, p);
    return p;
  }

  /** Rows [start, start + n). */
  chunk(start: number, n: number): CriteoChunk {
    const mc = this.options.missingRateCategorical ?? 0.05;
    const md = this.options.missingRateDense ?? 0.15;
    const bias = this.options.bias ?? -1.3;
    const labels = new Int32Array(n);
    const dense = new Float64Array(n * 13);
    const categorical = Array.from({ length: 26 }, () => new Array<string | null>(n));
    const probability = new Float64Array(n);
    const ranks = new Int32Array(26);
    for (let i = 0; i < n; i++) {
      const row = start + i;
      let z = bias;
      for (let d = 0; d < 13; d++) {
        const h = hash3(this.seed ^ 0x5bd1e995, row, d);
        if (unit(hash3(this.seed, row, 100 + d)) < md) {
          dense[i * 13 + d] = NaN;
          continue;
        }
        // Heavy-tailed counts: exponential of a normal, floored.
        const v = Math.floor(this.denseScale[d] * Math.exp(0.9 * gauss(h, hash3(this.seed, row, 200 + d))) * 0.3);
        dense[i * 13 + d] = v;
        z += this.denseW[d] * (Math.log1p(v) - 1.5);
      }
      for (let c = 0; c < 26; c++) {
        if (unit(hash3(this.seed, row, 300 + c)) < mc) {
          ranks[c] = -1;
          categorical[c][i] = null;
          continue;
        }
        const r = this.zipf(unit(hash3(this.seed, row, 400 + c)), this.cardinalities[c]);
        ranks[c] = r;
        categorical[c][i] = this.token(c, r);
        z += this.idParams(c, r)[0];
      }
      for (const [a, b] of FACTOR_PAIRS) {
        if (ranks[a] < 0 || ranks[b] < 0) continue;
        const pa = this.idParams(a, ranks[a]),
          pb = this.idParams(b, ranks[b]);
        let dot = 0;
        for (let k = 1; k <= K; k++) dot += pa[k] * pb[k];
        z += dot;
      }
      const p = 1 / (1 + Math.exp(-z));
      probability[i] = p;
      labels[i] = unit(hash3(this.seed, row, 999)) < p ? 1 : 0;
    }
    return { labels, dense, categorical, probability };
  }
}

/**
 * What writing a data set reports: rows, click rate, and the planted probability of every row
 * with its drawn label. The best achievable AUC is the AUC of `probability` against `labels`
 * (`exactAuc` of @tsrec/models).
 */
export interface SyntheticReport {
  rows: number;
  positiveRate: number;
  probability: Float64Array;
  labels: Int32Array;
}

/**
 * Writes rows [firstRow, firstRow + rows) as TSV (Criteo's format; a header line when `header`),
 * in chunks; returns the report. Disjoint row ranges of one seed share the planted model (train
 * and eval files).
 */
export function writeCriteoTsv(
  path: string,
  options: CriteoSyntheticOptions & { header?: boolean; firstRow?: number },
): SyntheticReport {
  const first = options.firstRow ?? 0;
  const gen = new CriteoSynthetic(options);
  const fd = fs.openSync(path, 'w');
  const probs = new Float64Array(options.rows);
  const labels = new Int32Array(options.rows);
  try {
    if (options.header ?? true) fs.writeSync(fd, `${CRITEO_COLUMNS.join('\t')}\n`);
    for (let start = 0; start < options.rows; start += 65536) {
      const n = Math.min(65536, options.rows - start);
      const c = gen.chunk(first + start, n);
      probs.set(c.probability, start);
      labels.set(c.labels, start);
      const lines: string[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const f: string[] = [String(c.labels[i])];
        for (let d = 0; d < 13; d++) {
          const v = c.dense[i * 13 + d];
          f.push(Number.isNaN(v) ? '' : String(v));
        }
        for (let k = 0; k < 26; k++) f.push(c.categorical[k][i] ?? '');
        lines[i] = f.join('\t');
      }
      fs.writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    fs.closeSync(fd);
  }
  return {
    rows: options.rows,
    positiveRate: labels.reduce((s, v) => s + v, 0) / options.rows,
    probability: probs,
    labels,
  };
}

/** Writes rows as Parquet (label INT32, I* DOUBLE nullable, C* STRING nullable); returns the report. */
export function writeCriteoParquet(path: string, options: CriteoSyntheticOptions): SyntheticReport {
  const { parquetWriteFile } = require('hyparquet-writer') as {
    parquetWriteFile(o: {
      filename: string;
      columnData: { name: string; data: unknown[]; type?: string; nullable?: boolean }[];
      rowGroupSize?: number;
    }): void;
  };
  const gen = new CriteoSynthetic(options);
  const c = gen.chunk(0, options.rows);
  const columnData: { name: string; data: unknown[]; type?: string; nullable?: boolean }[] = [
    { name: 'label', data: Array.from(c.labels), type: 'INT32', nullable: false },
  ];
  for (let d = 0; d < 13; d++)
    columnData.push({
      name: `I${d + 1}`,
      data: Array.from({ length: options.rows }, (_, i) =>
        Number.isNaN(c.dense[i * 13 + d]) ? null : c.dense[i * 13 + d],
      ),
      type: 'DOUBLE',
      nullable: true,
    });
  for (let k = 0; k < 26; k++)
    columnData.push({ name: `C${k + 1}`, data: c.categorical[k], type: 'STRING', nullable: true });
  parquetWriteFile({ filename: path, columnData, rowGroupSize: 65536 });
  return {
    rows: options.rows,
    positiveRate: c.labels.reduce((s, v) => s + v, 0) / options.rows,
    probability: c.probability,
    labels: c.labels,
  };
}

/** Feature configs for the synthetic set in tsrec's raw mode (FG_NORMAL): 13 log10 raw + 26 hashed ids. */
export function criteoFeatureConfigs(
  options: { hashBucketSize?: number; embeddingDim?: number; cardinalities?: number[] } = {},
) {
  const card = options.cardinalities ?? DEFAULT_CARDINALITIES;
  return [
    ...Array.from({ length: 13 }, (_, d) => ({
      feature: {
        case: 'rawFeature' as const,
        value: {
          featureName: `I${d + 1}`,
          expression: `user:I${d + 1}`,
          normalizer: 'method=log10,threshold=1e-10,default=-10',
        },
      },
    })),
    ...Array.from({ length: 26 }, (_, c) => ({
      feature: {
        case: 'idFeature' as const,
        value: {
          featureName: `C${c + 1}`,
          expression: `item:C${c + 1}`,
          hashBucketSize: options.hashBucketSize ?? Math.max(10, card[c] * 2),
          embeddingDim: options.embeddingDim ?? 16,
        },
      },
    })),
  ];
}
