// `npx nx run trainer:tzrec-conformance [-- <folder>]`: loads every TorchEasyRec config under the
// folder (default: ../shared/tzrec next to the repository, or TSREC_SHARED_DIR/tzrec) and prints
// how far each gets in tsrec: parses as written, validates with the data source swapped, builds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setUpTfjs } from '@tsrec/models';

import { configFiles, conformanceOf, formatConformance } from './tzrec_conformance';

async function main(): Promise<number> {
  const shared = process.env.TSREC_SHARED_DIR ?? path.resolve(__dirname, '../../../../shared');
  const dir = path.resolve(process.argv[2] ?? path.join(shared, 'tzrec'));
  if (!fs.existsSync(dir)) {
    process.stderr.write(
      `tzrec-conformance: no TorchEasyRec configs at ${dir} (pass a folder, or set TSREC_SHARED_DIR)\n`,
    );
    return 2;
  }
  await setUpTfjs('tsrec');
  const rows = configFiles(dir).map((f) => conformanceOf(f, dir));
  process.stdout.write(`${formatConformance(rows)}\n`);
  if (process.env.TSREC_BENCH_JSON) fs.writeFileSync(process.env.TSREC_BENCH_JSON, JSON.stringify({ rows }, null, 2));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`tzrec-conformance: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
