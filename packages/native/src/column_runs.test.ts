import { copyColumnRuns } from './column_runs';

// copyColumnRuns against a plain loop with JS's Float32Array arithmetic, on random shapes (runs set
// and added, scaled or not), and refusing any index outside either array.
const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);

function rng(s: number): () => number {
  let x = s >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

function reference(
  src: Float32Array,
  so: number,
  ss: number,
  dst: Float32Array,
  dOff: number,
  ds: number,
  rows: number,
  runs: Int32Array,
  scale: number,
): void {
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < runs.length; k += 4)
      for (let j = 0; j < runs[k + 2]; j++) {
        const v = scale * src[so + r * ss + runs[k] + j];
        const at = dOff + r * ds + runs[k + 1] + j;
        dst[at] = runs[k + 3] ? dst[at] + v : v;
      }
}

describe(`copyColumnRuns (seed ${seed})`, () => {
  it('equals the plain loop bit for bit on random shapes', () => {
    const r = rng(seed);
    for (let trial = 0; trial < 200; trial++) {
      const rows = Math.floor(r() * 50);
      const ss = 1 + Math.floor(r() * 40);
      const ds = 1 + Math.floor(r() * 40);
      const runs: number[] = [];
      for (let k = 0, n = Math.floor(r() * 5); k < n; k++) {
        const len = Math.floor(r() * Math.min(ss, ds));
        runs.push(Math.floor(r() * (ss - len + 1)), Math.floor(r() * (ds - len + 1)), len, r() < 0.5 ? 1 : 0);
      }
      const so = Math.floor(r() * 7);
      const dOff = Math.floor(r() * 7);
      const scale = r() < 0.5 ? 1 : r() * 3 - 1;
      const src = Float32Array.from({ length: so + rows * ss }, () => r() * 2 - 1);
      const init = Float32Array.from({ length: dOff + rows * ds }, () => r() * 2 - 1);
      const want = init.slice();
      const got = init.slice();
      const runArray = Int32Array.from(runs);
      reference(src, so, ss, want, dOff, ds, rows, runArray, scale);
      copyColumnRuns(src, so, ss, got, dOff, ds, rows, runArray, scale);
      expect({ trial, same: Buffer.from(got.buffer).equals(Buffer.from(want.buffer)) }).toEqual({ trial, same: true });
    }
  });

  it('refuses runs that reach outside either array, and bad arguments', () => {
    const src = new Float32Array(12);
    const dst = new Float32Array(12);
    const run = (a: number[]) => Int32Array.from(a);
    expect(() => copyColumnRuns(src, 0, 4, dst, 0, 4, 3, run([2, 0, 3, 0]))).toThrow(/reaches outside its array/);
    expect(() => copyColumnRuns(src, 0, 4, dst, 1, 4, 3, run([0, 0, 4, 0]))).toThrow(/reaches outside its array/);
    expect(() => copyColumnRuns(src, 0, 4, dst, 0, 4, 4, run([0, 0, 1, 0]))).toThrow(/reaches outside its array/);
    expect(() => copyColumnRuns(src, 0, 4, dst, 0, 4, 1, run([-1, 0, 1, 0]))).toThrow(/reaches outside its array/);
    expect(() => copyColumnRuns(src, 0, 4, dst, 0, 4, 1, run([0, 0, 1]))).toThrow(/runs/);
    expect(() => copyColumnRuns(src, -1, 4, dst, 0, 4, 1, run([0, 0, 1, 0]))).toThrow(/srcOffset/);
    expect(() => copyColumnRuns(new Float64Array(4) as never, 0, 4, dst, 0, 4, 1, run([0, 0, 1, 0]))).toThrow(/src/);
    expect(dst.every((x) => x === 0)).toBe(true);
    copyColumnRuns(src, 0, 4, dst, 0, 4, 3, run([0, 0, 4, 0]));
  });
});
