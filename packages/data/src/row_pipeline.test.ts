import { delimitedFormat, frameRows, newRowFrames } from './delimited_splitter';
import { Rng } from './random';
import { CsvRowBatch, RankFilter, RowBatch, RowBatcher } from './row_pipeline';
import { pushDelimitedRows } from './row_source';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The rows of a CSV batch as text, with their lines and files.
const rowsOf = (batches: RowBatch[]) =>
  batches.flatMap((b) => {
    const c = b as CsvRowBatch;
    return Array.from({ length: c.count }, (_, k) => [Buffer.from(c.bytes.subarray(c.starts[k], c.ends[k])).toString(), c.lines[k], c.fileIndex[k]]);
  });

describe('RowBatcher.pushRows (bulk copy of framed rows)', () => {
  it('gives the rows, lines and batch sizes of one push per row, across batch boundaries, CRLF and blank lines', () => {
    const rng = new Rng(Date.now() % 100000);
    const parts: string[] = [];
    for (let i = 0; i < 300; i++) {
      const text = `${i}\t${'x'.repeat(rng.int(40))}\t"q${i}"`;
      parts.push(text + (rng.int(3) === 0 ? '\r\n' : '\n') + (rng.int(10) === 0 ? '\n' : ''));
    }
    const buf = Buffer.from(parts.join(''));
    const frames = newRowFrames(1024);
    frameRows(buf, 0, buf.length, true, delimitedFormat('\t', '"').quote, 1, frames);
    expect(frames.count).toBe(300);
    for (const batchSize of [1, 7, 64, 300, 1000]) {
      const one: RowBatch[] = [];
      const bulk: RowBatch[] = [];
      const a = new RowBatcher(batchSize, null, (b) => one.push(b));
      const b = new RowBatcher(batchSize, null, (x) => bulk.push(x));
      for (let k = 0; k < frames.count; k++) a.push(buf, frames.starts[k], frames.ends[k], null, frames.lines[k], 3);
      // Uneven slices, as chunk ends cut the framed rows.
      for (let from = 0; from < frames.count; ) {
        const to = Math.min(frames.count, from + 1 + rng.int(50));
        b.pushRows(buf, frames, from, to, 3);
        from = to;
      }
      a.end();
      b.end();
      expect(bulk.map((x) => x.count)).toEqual(one.map((x) => x.count));
      const expected = rowsOf(one);
      expect(rowsOf(bulk)).toEqual(expected);
      buf.fill(0); // the batches own their bytes: the source may be reused
      expect(rowsOf(bulk)).toEqual(expected);
      buf.set(Buffer.from(parts.join('')));
    }
  });

  it('RankFilter passes rows in bulk only for one rank; other ranks still see every worldSize-th row', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-rows-'));
    const file = path.join(dir, 'r.csv');
    fs.writeFileSync(file, 'a,b\n' + Array.from({ length: 50 }, (_, i) => `${i},${i * 2}`).join('\n') + '\n');
    const run = (rank: number, world: number) => {
      const out: RowBatch[] = [];
      const sink = new RankFilter(rank, world, new RowBatcher(8, null, (b) => out.push(b)));
      for (const _ of pushDelimitedRows(file, 0, delimitedFormat(',', '"'), true, sink, 64)) void _;
      sink.end();
      return rowsOf(out).map((r) => r[0]);
    };
    expect(run(0, 1)).toEqual(Array.from({ length: 50 }, (_, i) => `${i},${i * 2}`));
    expect(run(1, 3)).toEqual(Array.from({ length: 16 }, (_, i) => `${3 * i + 1},${(3 * i + 1) * 2}`));
  });
});
