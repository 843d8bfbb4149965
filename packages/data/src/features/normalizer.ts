import { compileExpression } from './expr_evaluator';

/**
 * RawFeature normalizers in TorchEasyRec's syntax:
 * `method=log10,threshold=1e-10,default=-10` (x > threshold ? log10(x) : default),
 * `method=zscore,mean=0,standard_deviation=10`, `method=minmax,min=2.1,max=2.2`,
 * `method=expression,expr=sign(x)`.
 */
export type Normalizer = ((x: number) => number) & {
  /** Set on log10 normalizers, so loops over many values can inline them (normalizeAll). */
  log10?: { threshold: number; def: number };
};

const LOG10_TABLE_SIZE = 1 << 16;
let LOG10: Float64Array | null = null;
/** Math.log10(i) for i in [0, 2^16), made on first use (one table per thread, 512 KiB). */
function log10Table(): Float64Array {
  if (!LOG10) {
    LOG10 = new Float64Array(LOG10_TABLE_SIZE);
    for (let i = 0; i < LOG10_TABLE_SIZE; i++) LOG10[i] = Math.log10(i);
  }
  return LOG10;
}

/** x > threshold ? log10(x) : def. Counts (Criteo's dense columns) are small integers: a table of Math.log10's own results. */
function log10Or(x: number, threshold: number, def: number, table: Float64Array): number {
  if (!(x > threshold)) return def;
  const i = x | 0;
  return i === x && i >= 0 && i < LOG10_TABLE_SIZE ? table[i] : Math.log10(x);
}

/** Parses a normalizer string; '' or undefined gives null (no change). */
export function parseNormalizer(spec: string | undefined, featureName: string): Normalizer | null {
  if (!spec) return null;
  const kv = new Map<string, string>();
  // expr may contain commas: everything after "expr=" belongs to it.
  const exprAt = spec.indexOf('expr=');
  const head = exprAt >= 0 ? spec.slice(0, exprAt) : spec;
  for (const part of head.split(',')) {
    if (part.trim() === '') continue;
    const i = part.indexOf('=');
    if (i < 0)
      throw new Error(`feature "${featureName}": expected key=value in normalizer but found ${JSON.stringify(part)}`);
    kv.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  if (exprAt >= 0) kv.set('expr', spec.slice(exprAt + 5).trim());
  const num = (k: string, def?: number): number => {
    const v = kv.get(k);
    if (v === undefined) {
      if (def !== undefined) return def;
      throw new Error(`feature "${featureName}": normalizer "${spec}" needs ${k}=<number>`);
    }
    const n = Number(v);
    if (!Number.isFinite(n))
      throw new Error(
        `feature "${featureName}": expected a number for normalizer ${k} but received ${JSON.stringify(v)}`,
      );
    return n;
  };
  const method = kv.get('method');
  switch (method) {
    case 'log10': {
      const threshold = num('threshold', 1e-10);
      const def = num('default', -10);
      const f: Normalizer = (x) => log10Or(x, threshold, def, log10Table());
      f.log10 = { threshold, def };
      return f;
    }
    case 'zscore': {
      const mean = num('mean', 0);
      const sd = num('standard_deviation', 1);
      if (sd === 0) throw new Error(`feature "${featureName}": zscore standard_deviation must not be 0`);
      return (x) => (x - mean) / sd;
    }
    case 'minmax': {
      const min = num('min');
      const max = num('max');
      if (max <= min)
        throw new Error(`feature "${featureName}": minmax needs max > min but received min=${min}, max=${max}`);
      return (x) => (x - min) / (max - min);
    }
    case 'expression': {
      const f = compileExpression(kv.get('expr') ?? '', ['x'], featureName);
      return (x) => f([x]);
    }
    default:
      throw new Error(
        `feature "${featureName}": expected normalizer method log10, zscore, minmax or expression but received ${JSON.stringify(method)}`,
      );
  }
}

/** vals[i] = normalizer(vals[i]) for every i; log10 inline (the same results, without a call per value). */
export function normalizeAll(normalizer: Normalizer, vals: Float64Array): void {
  const l = normalizer.log10;
  if (!l) {
    for (let i = 0; i < vals.length; i++) vals[i] = normalizer(vals[i]);
    return;
  }
  const { threshold, def } = l;
  const table = log10Table();
  for (let i = 0; i < vals.length; i++) vals[i] = log10Or(vals[i], threshold, def, table);
}

/** Index of the bucket of x: the number of boundaries <= x (TensorFlow's Bucketize). */
export function bucketize(boundaries: Float64Array, x: number): number {
  let lo = 0,
    hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (boundaries[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
