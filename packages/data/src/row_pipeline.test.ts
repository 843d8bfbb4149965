import { delimitedFormat, frameRows, newRowFrames } from './delimited_splitter';
import { Rng } from './random';
import { ByteRecycler, type CsvRowBatch, RankFilter, type RowBatch, RowBatcher } from './row_pipeline';
import { pushDelimitedRows, pushDelimitedRowsAsync } from './row_source';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The rows of a CSV batch as text, with their lines and files.
const rowsOf = (batches: RowBatch[]) =>
  batches.flatMap((b) => {
    const c = b as CsvRowBatch;
    return Array.from({ length: c.count }, (_, k) => [
      Buffer.from(c.bytes.subarray(c.starts[k], c.ends[k])).toString(),
      c.lines[k],
      c.fileIndex[k],
    ]);
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
    frameRows(buf, 0, buf.length, true, 1, frames);
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
    fs.writeFileSync(file, `a,b\n${Array.from({ length: 50 }, (_, i) => `${i},${i * 2}`).join('\n')}\n`);
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

describe('pushDelimitedRowsAsync (reads ahead)', () => {
  const seed = Number(process.env.TSREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  it(`pushes the same rows, lines and count as pushDelimitedRows for any chunk size (seed ${seed})`, async () => {
    const rng = new Rng(seed);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-async-rows-'));
    for (let trial = 0; trial < 25; trial++) {
      const lines: string[] = ['h1,h2'];
      const n = rng.int(60);
      for (let i = 0; i < n; i++) {
        const r = rng.next();
        if (r < 0.05)
          lines.push(''); // blank line (skipped)
        else if (r < 0.1)
          lines.push(`"quoted ${i}",x`); // a quoted field
        else lines.push(`${'v'.repeat(rng.int(r < 0.2 ? 300 : 20))}${i},${i}`);
      }
      const eol = rng.next() < 0.3 ? '\r\n' : '\n';
      const text = lines.join(eol) + (rng.next() < 0.5 ? eol : '');
      const file = path.join(dir, `f${trial}.csv`);
      fs.writeFileSync(file, text);
      const chunk = [16, 64, 100, 1000, 1 << 16][rng.int(5)];
      const collect = async (sync: boolean) => {
        const out: RowBatch[] = [];
        const sink = new RowBatcher(7, null, (b) => out.push(b));
        let count = 0;
        if (sync) {
          const g = pushDelimitedRows(file, 0, delimitedFormat(',', '"'), true, sink, chunk);
          for (let r = g.next(); ; r = g.next())
            if (r.done) {
              count = r.value;
              break;
            }
        } else {
          const g = pushDelimitedRowsAsync(file, 0, delimitedFormat(',', '"'), true, sink, chunk);
          for (let r = await g.next(); ; r = await g.next())
            if (r.done) {
              count = r.value;
              break;
            }
        }
        sink.end();
        return { count, rows: rowsOf(out) };
      };
      const a = await collect(false);
      const b = await collect(true);
      expect({ trial, chunk, ...a }).toEqual({ trial, chunk, ...b });
      expect(a.count).toBe(lines.slice(1).filter((l) => l !== '').length);
    }
  });
});

describe('ByteRecycler', () => {
  it('hands back a spare buffer big enough, else fresh memory; keeps at most max', () => {
    const r = new ByteRecycler(2);
    const a = new ArrayBuffer(100),
      b = new ArrayBuffer(300),
      c = new ArrayBuffer(50);
    r.give(a);
    r.give(b);
    r.give(c); // over max: dropped
    expect(r.size).toBe(2);
    expect(r.take(200).buffer).toBe(b);
    expect(r.take(200).buffer).not.toBe(a); // a is too small: fresh
    expect(r.take(10).buffer).toBe(a);
    expect(r.size).toBe(0);
  });

  it('RowBatcher copies rows into recycled buffers and the rows read the same', () => {
    const r = new ByteRecycler();
    const out: RowBatch[] = [];
    const batcher = new RowBatcher(
      2,
      null,
      (b) => out.push(b),
      (n) => r.take(n),
    );
    const text = Buffer.from('a,1\nb,2\nc,3\nd,4\ne,5\n');
    const frames = newRowFrames(16);
    frameRows(text, 0, text.length, true, 1, frames);
    batcher.pushRows(text, frames, 0, 2, 0); // batch 1; batch 2's buffer is taken at once (fresh)
    const first = rowsOf(out);
    const back = (out[0] as CsvRowBatch).bytes.buffer as ArrayBuffer;
    r.give(back); // as a worker does once it has featurized batch 1
    batcher.pushRows(text, frames, 2, 5, 0); // batch 2, then batch 3 into the recycled buffer
    batcher.end();
    expect((out[2] as CsvRowBatch).bytes.buffer).toBe(back);
    expect([...first, ...rowsOf(out.slice(1))].map((x) => x[0])).toEqual(['a,1', 'b,2', 'c,3', 'd,4', 'e,5']);
  });
});
