/** Worker thread of `ensureExampleData`: writes one part file of the synthetic train rows. */
import { workerData } from 'node:worker_threads';
import { CriteoSynthetic } from '@tsrec/data';

import { writeRowRange } from './default_example';

const w = workerData as {
  file: string;
  start: number;
  rows: number;
  seed: number;
  cardinalityScale: number;
  total: number;
};
writeRowRange(
  w.file,
  new CriteoSynthetic({ rows: w.total, seed: w.seed, cardinalityScale: w.cardinalityScale }),
  w.start,
  w.rows,
);
