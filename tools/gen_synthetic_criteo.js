#!/usr/bin/env node
// Writes the synthetic Criteo-like data set of @tsrec/data (labels from a planted model) and
// prints its best achievable AUC. Needs the data and models packages built: npx nx run models:build
//
//   node tools/gen_synthetic_criteo.js --rows 1000000 --seed 1 --out /tmp/criteo.tsv [--format tsv|parquet]
//       [--first-row 0] [--cardinality-scale 1] [--zipf 1.1] [--no-header]
// Files of one seed share the planted model: give an eval file rows after the train file's
// (--first-row 1000000).

const path = require('node:path');

function parseArgs(argv) {
  const o = {
    rows: 100000,
    seed: 0,
    format: null,
    out: null,
    header: true,
    cardinalityScale: 1,
    zipf: 1.1,
    firstRow: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`Expected a value after ${a}`);
      return argv[++i];
    };
    if (a === '--rows') o.rows = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--out') o.out = next();
    else if (a === '--format') o.format = next();
    else if (a === '--cardinality-scale') o.cardinalityScale = Number(next());
    else if (a === '--zipf') o.zipf = Number(next());
    else if (a === '--no-header') o.header = false;
    else if (a === '--first-row') o.firstRow = Number(next());
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`Unknown argument ${a} (see --help)`);
  }
  if (!o.help) {
    if (!o.out) throw new Error('Expected --out <file>');
    if (!Number.isInteger(o.rows) || o.rows < 1)
      throw new Error(`Expected a positive integer for --rows but received ${o.rows}`);
    if (!Number.isInteger(o.seed)) throw new Error(`Expected an integer for --seed but received ${o.seed}`);
    if (!Number.isInteger(o.firstRow) || o.firstRow < 0)
      throw new Error(`Expected an integer >= 0 for --first-row but received ${o.firstRow}`);
    o.format = o.format || (o.out.endsWith('.parquet') ? 'parquet' : 'tsv');
    if (o.format !== 'tsv' && o.format !== 'parquet')
      throw new Error(`Expected tsv or parquet for --format but received ${o.format}`);
  }
  return o;
}

function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`gen_synthetic_criteo: ${e.message}`);
    process.exit(2);
  }
  if (o.help) {
    console.log(
      require('node:fs')
        .readFileSync(__filename, 'utf8')
        .split('\n')
        .slice(1, 9)
        .map((l) => l.replace(/^\/\/ ?/, ''))
        .join('\n'),
    );
    return;
  }
  let data;
  let models;
  try {
    data = require(path.join(__dirname, '..', 'packages', 'data', 'dist', 'index.js'));
    models = require(path.join(__dirname, '..', 'packages', 'models', 'dist', 'index.js'));
  } catch (e) {
    console.error(
      `gen_synthetic_criteo: @tsrec/data or @tsrec/models is not built (${e.message.split('\n')[0]}); run: npx nx run models:build`,
    );
    process.exit(1);
  }
  const opts = {
    rows: o.rows,
    seed: o.seed,
    cardinalityScale: o.cardinalityScale,
    zipfExponent: o.zipf,
    header: o.header,
    firstRow: o.firstRow,
  };
  const t0 = Date.now();
  if (o.format === 'parquet' && o.firstRow !== 0) {
    console.error('gen_synthetic_criteo: --first-row is for TSV output');
    process.exit(2);
  }
  const r = o.format === 'parquet' ? data.writeCriteoParquet(o.out, opts) : data.writeCriteoTsv(o.out, opts);
  console.log(
    `wrote ${o.out}: ${r.rows} rows (${o.format}), ${(100 * r.positiveRate).toFixed(2)}% positive, ` +
      `best achievable AUC ${models.exactAuc(r.probability, r.labels).toFixed(4)} (AUC of the planted probability), ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

main();
