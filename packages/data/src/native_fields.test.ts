import type { BadDataSummary } from './bad_data';
import type { Batch } from './batch';
import { delimitedFormat, FieldTable, frameRows, newRowFrames, splitFields } from './delimited_splitter';
import type { FeatureSpec } from './feature_spec';
import { FeatureEngine } from './feature_engine';
import { nativeFieldKernels, useNativeFieldKernels } from './native_fields';
import { Rng } from './random';
import { RowFeaturizer } from './row_featurizer';

// The native field kernels (split, hashed ids, decimals) against the TypeScript paths on random
// CSV text: the same batches, the same bad-row reports, the same errors. A fresh seed per run
// (in the suite name); TSREC_TEST_SEED replays one.
const SEED = Number(process.env.TSREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

const id = (value: Record<string, unknown>): FeatureSpec => ({ feature: { case: 'idFeature', value: value as never } });
const raw = (value: Record<string, unknown>): FeatureSpec => ({
  feature: { case: 'rawFeature', value: value as never },
});

const NUMS = [
  '0',
  '1',
  '7',
  '42',
  '-3',
  '3.25',
  '-1e3',
  '1E-3',
  '.5',
  '5.',
  ' 8 ',
  '+2',
  '123456789012345',
  '1e22',
  '4e-22',
];
// Fields the native parser declines: JavaScript's Number() decides (some are numbers, some bad).
const SLOW_NUMS = [
  'inf',
  'Infinity',
  '0x1f',
  '1e400',
  '1234567890123456789',
  '1e23',
  '12.5.1',
  'abc',
  '-',
  '1e',
  '  ',
  '0b11',
  'NaN',
];
const TOKENS = ['a', 'b', 'zz', 'user_17', 'é', '日本', '0', '-1', 'x y'];

function field(rng: Rng, kind: 'num' | 'id', sep: string, faults: boolean): string {
  const r = rng.next();
  if (r < 0.1) return '';
  if (kind === 'num') return faults && r < 0.2 ? SLOW_NUMS[rng.int(SLOW_NUMS.length)] : NUMS[rng.int(NUMS.length)];
  const n = 1 + rng.int(4);
  const toks: string[] = [];
  for (let k = 0; k < n; k++) toks.push(rng.next() < 0.15 ? '' : TOKENS[rng.int(TOKENS.length)]);
  return toks.join(sep);
}

// A random CSV body (no header) of `rows` rows; with faults: quoted fields, ragged rows and
// invalid UTF-8 now and then (each sends the whole batch to the TypeScript splitter).
function csv(rng: Rng, rows: number, d: string, sep: string, faults: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let r = 0; r < rows; r++) {
    const cells = [
      String(rng.int(2)),
      field(rng, 'num', sep, faults),
      field(rng, 'num', sep, faults),
      field(rng, 'id', sep, faults),
      field(rng, 'id', sep, faults),
      field(rng, 'id', sep, faults),
    ];
    if (faults && rng.next() < 0.05) cells[3] = `"${cells[3]}${d}q"`;
    if (faults && rng.next() < 0.03) cells.pop();
    if (faults && rng.next() < 0.02) cells[4] += 'z"';
    let line = Buffer.from(cells.join(d));
    if (faults && rng.next() < 0.02) line = Buffer.concat([line, Buffer.from([0xc3])]);
    parts.push(line, Buffer.from(rng.next() < 0.1 ? '\r\n' : '\n'));
  }
  return Buffer.concat(parts);
}

function engineFor(rng: Rng, sep: string): FeatureEngine {
  const pick = <T>(a: T[]) => a[rng.int(a.length)];
  const def = () => pick([undefined, '', 'none', 'a']);
  return new FeatureEngine({
    fgMode: 'FG_NORMAL',
    labelFields: ['label'],
    featureConfigs: [
      raw({
        featureName: 'n1',
        expression: 'user:n1',
        normalizer: pick(['', 'method=log10,threshold=1e-10,default=-10', 'method=zscore,mean=1,standard_deviation=2']),
      }),
      raw({ featureName: 'n2', expression: 'user:n2', defaultValue: pick([undefined, '3.5']) }),
      id({
        featureName: 'c1',
        expression: 'item:c1',
        hashBucketSize: pick([1, 10, 1000003, 2147483647]),
        separator: sep,
        defaultValue: def(),
      }),
      id({
        featureName: 'c2',
        expression: 'item:c2',
        hashBucketSize: 100,
        separator: sep,
        valueDim: pick([undefined, 1]),
        defaultValue: def(),
      }),
      // '' separators and a multi-byte one (the TypeScript path) side by side.
      id({
        featureName: 'c3',
        expression: 'item:c3',
        hashBucketSize: 50,
        separator: pick([sep, '', '||']),
        defaultValue: def(),
      }),
    ],
  });
}

function featurize(
  engine: FeatureEngine,
  body: Buffer,
  d: string,
  policy: 'fail' | 'skip',
): { batch?: Batch; bad?: BadDataSummary; error?: string } {
  const bytes = Buffer.from(body); // the splitter unescapes quoted fields in place
  const frames = newRowFrames(100000);
  frameRows(bytes, 0, bytes.length, true, 1, frames);
  const rf = new RowFeaturizer(
    engine,
    { columns: ['label', 'n1', 'n2', 'c1', 'c2', 'c3'], files: ['r.csv'], format: delimitedFormat(d) },
    policy,
  );
  const n = frames.count;
  try {
    const out = rf.featurize({
      kind: 'csv',
      epoch: 0,
      count: n,
      bytes,
      starts: frames.starts.subarray(0, n),
      ends: frames.ends.subarray(0, n),
      lines: frames.lines.subarray(0, n),
      fileIndex: new Int32Array(n),
    });
    return { batch: out.batch, bad: out.bad };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function plain(r: { batch?: Batch; bad?: BadDataSummary; error?: string }): unknown {
  if (!r.batch) return r;
  const b = r.batch;
  return {
    bad: r.bad,
    batchSize: b.batchSize,
    sparse: b.sparse.toJSON(),
    offsets: Array.from(b.sparse.offsets),
    dense: Array.from(b.dense).map((x) => (Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : x)),
    labels: Object.fromEntries(Object.entries(b.labels).map(([k, v]) => [k, Array.from(v)])),
  };
}

function withKernels<T>(on: boolean, f: () => T): T {
  const was = useNativeFieldKernels(on);
  try {
    return f();
  } finally {
    useNativeFieldKernels(was);
  }
}

describe(`native field kernels = TypeScript paths (seed ${SEED})`, () => {
  it('is on by default', () => {
    expect(nativeFieldKernels()).toBe(process.env.TSREC_NATIVE_FIELDS !== '0');
  });

  it('random CSV batches: same batches, bad-row reports and errors, with and without faults', () => {
    const rng = new Rng(SEED);
    let clean = 0;
    for (let trial = 0; trial < 60; trial++) {
      const d = rng.next() < 0.5 ? ',' : '\t';
      const sep = rng.next() < 0.5 ? '|' : '\u001d';
      const faults = rng.next() < 0.5;
      const body = csv(rng, 1 + rng.int(rng.next() < 0.2 ? 3 : 300), d, sep, faults);
      const engine = engineFor(rng, sep);
      for (const policy of ['skip', 'fail'] as const) {
        const a = withKernels(true, () => featurize(engine, body, d, policy));
        const b = withKernels(false, () => featurize(engine, body, d, policy));
        expect({ trial, policy, r: plain(a) }).toEqual({ trial, policy, r: plain(b) });
        if (policy === 'fail' && !a.error) clean++;
      }
    }
    // Both kinds of trials ran: some batches with no bad rows at all (the native paths all the way).
    expect(clean).toBeGreaterThan(5);
  });

  it('splitFields: the same fields, lines and errors for rows of random bytes', () => {
    const rng = new Rng(SEED + 1);
    const alphabet = [44, 9, 34, 97, 98, 32, 0xc3, 0xa9, 0xe6, 0x97, 0xa5, 0xff, 13];
    for (let trial = 0; trial < 200; trial++) {
      const rows = 1 + rng.int(20);
      const bytes: number[] = [];
      for (let r = 0; r < rows; r++) {
        const len = rng.int(rng.next() < 0.2 ? 80 : 12);
        for (let k = 0; k < len; k++) bytes.push(alphabet[rng.int(rng.next() < 0.7 ? 5 : alphabet.length)]);
        bytes.push(10);
      }
      const buf = Buffer.from(bytes);
      const fmt = delimitedFormat(rng.next() < 0.5 ? ',' : '\t', rng.next() < 0.8 ? '"' : null);
      const cols = 1 + rng.int(4);
      const run = (on: boolean) =>
        withKernels(on, () => {
          const b = Buffer.from(buf);
          const frames = newRowFrames(1000);
          frameRows(b, 0, b.length, true, 1, frames);
          const table = new FieldTable(cols, Math.max(1, frames.count));
          const errors = splitFields(b, frames, fmt, table);
          const fields: string[][] = [];
          for (let r = 0; r < table.rows; r++) {
            const row: string[] = [];
            for (let c = 0; c < cols; c++)
              row.push(
                b.subarray(table.starts[c * table.stride + r], table.ends[c * table.stride + r]).toString('latin1'),
              );
            fields.push(row);
          }
          return {
            errors,
            fields,
            lines: Array.from(table.lines.subarray(0, table.rows)),
            lineStarts: Array.from(table.lineStarts.subarray(0, table.rows)),
          };
        });
      expect({ trial, ...run(true) }).toEqual({ trial, ...run(false) });
    }
  });
});
