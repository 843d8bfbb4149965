/**
 * `npx nx run data:bench`: rows/s from Criteo-like files to finished batches (parse + featurize:
 * 13 log10 raw features, 26 FarmHash-bucketed ids, the label), for TSV and Parquet with 1 and 2
 * worker threads, and in the same run a baseline that parses the TSV with csv-parse and
 * featurizes the same way. TSREC_BENCH_ROWS sets the row count (default 200000);
 * TSREC_BENCH_PARQUET_WORKER_DECODE=1 decodes Parquet in the workers (parquetDecodeInWorkers);
 * The main-thread run is repeated with the TypeScript field paths (useNativeFieldKernels(false))
 * to show what the addon's field kernels give. TSREC_BENCH_JSON=<path> also writes {"results":[{"name","workers","rows_per_s"}, ...]}.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadDataReport } from '../bad_data';
import { DataLoader } from '../data_loader';
import { FeatureEngine } from '../feature_engine';
import { useNativeFieldKernels } from '../native_fields';
import { ValueBlock } from '../raw_block';
import { criteoFeatureConfigs, writeCriteoParquet, writeCriteoTsv } from '../synthetic/criteo_synthetic';

interface Result {
  name: 'tsv' | 'parquet' | 'csv_parse_baseline';
  workers: number;
  rows_per_s: number;
}

const ROWS = Number(process.env.TSREC_BENCH_ROWS ?? 200000);
const BATCH = 4096;
const features = {
  featureConfigs: criteoFeatureConfigs({ hashBucketSize: 1000000 }),
  fgMode: 'FG_NORMAL' as const,
  labelFields: ['label'],
};

function files(): { tsv: string; parquet: string } {
  const dir = path.join(os.tmpdir(), 'tsrec-bench');
  fs.mkdirSync(dir, { recursive: true });
  const tsv = path.join(dir, `criteo_synthetic_${ROWS}.tsv`);
  const parquet = path.join(dir, `criteo_synthetic_${ROWS}.parquet`);
  if (!fs.existsSync(tsv)) {
    const r = writeCriteoTsv(tsv, { rows: ROWS, seed: 1 });
    console.log(`generated ${tsv}: ${r.rows} rows, ${(100 * r.positiveRate).toFixed(1)}% positive`);
  }
  if (!fs.existsSync(parquet)) writeCriteoParquet(parquet, { rows: ROWS, seed: 1 });
  return { tsv, parquet };
}

// Steady state: timed from the first batch (worker start-up, ~0.1 s per thread, is excluded and
// reported separately), over two epochs so each configuration runs long enough to measure.
async function timeLoader(inputPath: string, workers: number): Promise<{ rowsPerS: number; startupS: number }> {
  const t0 = process.hrtime.bigint();
  let t1 = 0n;
  let rows = 0;
  let counted = 0;
  for await (const b of new DataLoader({
    inputPath,
    batchSize: BATCH,
    features,
    numWorkers: workers,
    numEpochs: 2,
    parquetDecodeInWorkers: process.env.TSREC_BENCH_PARQUET_WORKER_DECODE === '1',
  })) {
    if (t1 === 0n) t1 = process.hrtime.bigint();
    else counted += b.batchSize;
    rows += b.batchSize;
  }
  const s = Number(process.hrtime.bigint() - t1) / 1e9;
  if (rows !== 2 * ROWS) throw new Error(`expected ${2 * ROWS} rows but read ${rows}`);
  return { rowsPerS: counted / s, startupS: Number(t1 - t0) / 1e9 };
}

// csv-parse -> arrays of strings -> the same feature engine (over decoded values).
async function timeCsvParse(file: string): Promise<number> {
  const { parse } = require('csv-parse') as typeof import('csv-parse');
  const engine = new FeatureEngine(features);
  const report = new BadDataReport('fail');
  const t0 = process.hrtime.bigint();
  let rows = 0;
  let header: string[] | null = null;
  let pending: string[][] = [];
  const flush = () => {
    const cols: Record<string, string[]> = {};
    header!.forEach((h, c) => (cols[h] = pending.map((r) => r[c])));
    rows += engine.featurize(new ValueBlock(pending.length, file, cols), report).batchSize;
    pending = [];
  };
  const parser = fs.createReadStream(file).pipe(parse({ delimiter: '\t', relax_quotes: true }));
  for await (const rec of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = rec;
      continue;
    }
    pending.push(rec);
    if (pending.length === BATCH) flush();
  }
  if (pending.length) flush();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return rows / s;
}

async function main(): Promise<void> {
  const f = files();
  console.log(
    `data bench: ${ROWS} Criteo-like rows, batch ${BATCH}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})`,
  );
  await timeLoader(f.tsv, 0); // warm-up (JIT, page cache)
  const results: Result[] = [];
  const startup: string[] = [];
  for (const [name, file] of [
    ['tsv', f.tsv],
    ['parquet', f.parquet],
  ] as const) {
    for (const w of [1, 2]) {
      const r = await timeLoader(file, w);
      results.push({ name, workers: w, rows_per_s: r.rowsPerS });
      startup.push(`${name}/${w}: ${r.startupS.toFixed(2)} s`);
    }
  }
  const inline = await timeLoader(f.tsv, 0);
  // The same, with the TypeScript field paths instead of the addon's kernels (main thread only).
  const was = useNativeFieldKernels(false);
  const inlineTs = await timeLoader(f.tsv, 0);
  useNativeFieldKernels(was);
  results.push({ name: 'csv_parse_baseline', workers: 1, rows_per_s: await timeCsvParse(f.tsv) });
  const base = results.find((r) => r.name === 'csv_parse_baseline')!.rows_per_s;
  console.log('\n| input | workers | rows/s | vs csv-parse |\n|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.workers} | ${Math.round(r.rows_per_s).toLocaleString('en-US')} | ${(r.rows_per_s / base).toFixed(2)}x |`,
    );
  console.log(
    `(tsv featurized in the main thread, no workers: ${Math.round(inline.rowsPerS).toLocaleString('en-US')} rows/s; time to the first batch: ${startup.join(', ')})`,
  );
  console.log(
    `native field kernels (main thread, no workers): ${Math.round(inline.rowsPerS).toLocaleString('en-US')} rows/s vs ${Math.round(inlineTs.rowsPerS).toLocaleString('en-US')} with the TypeScript paths (${(inline.rowsPerS / inlineTs.rowsPerS).toFixed(2)}x)` +
      (was ? '' : ' [TSREC_NATIVE_FIELDS=0: both ran the TypeScript paths]'),
  );
  const tsv2 = results.find((r) => r.name === 'tsv' && r.workers === 2)!.rows_per_s;
  console.log(
    `\ntarget: >= 300,000 rows/s on TSV with 2 workers (${tsv2 >= 300000 ? 'met' : 'NOT met'}), >= 3x csv-parse (${tsv2 / base >= 3 ? 'met' : 'NOT met'})`,
  );
  if (process.env.TSREC_BENCH_JSON)
    fs.writeFileSync(process.env.TSREC_BENCH_JSON, JSON.stringify({ results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
