import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { type DelimitedFormat, frameRows, newRowFrames } from './delimited_splitter';
import type { RowSink } from './row_pipeline';

const BOM = [0xef, 0xbb, 0xbf];

function startsWithBom(buf: Uint8Array, pos: number, end: number): boolean {
  return end - pos >= 3 && buf[pos] === BOM[0] && buf[pos + 1] === BOM[1] && buf[pos + 2] === BOM[2];
}

/** The column names of a delimited file: its header line, or the configured input fields. */
export function readHeader(file: string, fmt: DelimitedFormat): string[] {
  const buf = readHead(file, 1 << 16);
  const frames = newRowFrames(1);
  frameRows(buf, startsWithBom(buf, 0, buf.length) ? BOM.length : 0, buf.length, true, 1, frames);
  if (frames.count === 0) throw new Error(`${file}:1:1: expected a header line but the file is empty`);
  const line = buf.subarray(frames.starts[0], frames.ends[0]).toString('utf8');
  const q = fmt.quote >= 0 ? String.fromCharCode(fmt.quote) : null;
  return line
    .split(String.fromCharCode(fmt.delimiter))
    .map((s) => (q && s.startsWith(q) && s.endsWith(q) && s.length >= 2 ? s.slice(1, -1) : s).trim());
}

/** A whole .gz file inflated; a truncated or corrupt one is an error naming it. */
function gunzipFile(file: string): Buffer {
  const raw = fs.readFileSync(file);
  try {
    return zlib.gunzipSync(raw);
  } catch (e) {
    throw new Error(`${file}: not a complete gzip file (${(e as Error).message}); was it truncated?`);
  }
}

function readHead(file: string, n: number): Buffer {
  if (file.endsWith('.gz')) return gunzipFile(file).subarray(0, n);
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.allocUnsafe(n);
    const got = fs.readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** Frames rows of buffers (from `start`) into `sink`, keeping the line count and header state across calls. */
function rowConsumer(fileIndex: number, withHeader: boolean, sink: RowSink) {
  const frames = newRowFrames(16384);
  let rows = 0;
  let line = 1;
  let skipHeader = withHeader;
  let atFileStart = true;
  return {
    rows: () => rows,
    /** Pushes the complete rows of buf[start, end) (all of it when isLast); returns where the rest begins. */
    consume(buf: Buffer, start: number, end: number, isLast: boolean): number {
      let pos = start;
      if (atFileStart) {
        // A UTF-8 byte order mark (spreadsheet exports write one) is not part of the first row.
        if (end - pos < BOM.length && !isLast) return pos;
        if (startsWithBom(buf, pos, end)) pos += BOM.length;
        atFileStart = false;
      }
      for (;;) {
        frames.count = 0;
        const r = frameRows(buf, pos, end, isLast, line, frames);
        let first = 0;
        if (skipHeader && frames.count > 0) {
          skipHeader = false;
          first = 1;
        }
        if (sink.pushRows) sink.pushRows(buf, frames, first, frames.count, fileIndex);
        else
          for (let k = first; k < frames.count; k++)
            sink.push(buf, frames.starts[k], frames.ends[k], null, frames.lines[k], fileIndex);
        rows += Math.max(0, frames.count - first);
        pos = r.pos;
        line = r.line;
        if (frames.count < frames.starts.length) return pos;
      }
    },
  };
}

/**
 * Pushes every row of a delimited file into `sink`, reading `chunkBytes` at a time (gzip files
 * are inflated whole), and yields after each chunk so the caller can apply back-pressure.
 * Skips the header line when `withHeader`. Returns the number of rows. (Rows end at newlines
 * whatever the format; `_fmt` is kept for the splitters that follow.)
 */
export function* pushDelimitedRows(
  file: string,
  fileIndex: number,
  _fmt: DelimitedFormat,
  withHeader: boolean,
  sink: RowSink,
  chunkBytes = 4 << 20,
): Generator<void, number> {
  const c = rowConsumer(fileIndex, withHeader, sink);
  const consume = (buf: Buffer, end: number, isLast: boolean) => c.consume(buf, 0, end, isLast);
  if (file.endsWith('.gz')) {
    const buf = gunzipFile(file);
    consume(buf, buf.length, true);
    yield;
    return c.rows();
  }
  const fd = fs.openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(chunkBytes);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        const grown = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(grown, 0, 0, have);
        buf = grown;
      }
      const got = fs.readSync(fd, buf, have, buf.length - have, null);
      const end = have + got;
      const isLast = got === 0;
      const used = consume(buf, end, isLast);
      yield;
      if (isLast) break;
      // Rows handed on were copied by the next stage, so the chunk is reused: the tail moves to its front.
      buf.copy(buf, 0, used, end);
      have = end - used;
    }
  } finally {
    fs.closeSync(fd);
  }
  return c.rows();
}

/**
 * pushDelimitedRows with the reads in the background: while one chunk is framed and pushed, the
 * next is read into a second buffer (libuv's thread pool does the copy from the page cache, which
 * took ~0.9 ms of the main thread per 4096 Criteo rows). The chunk's unfinished last row is
 * copied into the gap kept in front of the next chunk's data, so rows stay contiguous.
 */
export async function* pushDelimitedRowsAsync(
  file: string,
  fileIndex: number,
  fmt: DelimitedFormat,
  withHeader: boolean,
  sink: RowSink,
  chunkBytes = 4 << 20,
): AsyncGenerator<void, number> {
  if (file.endsWith('.gz')) return yield* pushDelimitedRows(file, fileIndex, fmt, withHeader, sink, chunkBytes);
  const c = rowConsumer(fileIndex, withHeader, sink);
  const gap = Math.min(1 << 20, chunkBytes); // room for the previous chunk's partial row
  const fh = await fs.promises.open(file, 'r');
  try {
    let cur = Buffer.allocUnsafe(gap + chunkBytes);
    let next = Buffer.allocUnsafe(gap + chunkBytes);
    let filePos = 0;
    let reading = fh.read(cur, gap, chunkBytes, filePos);
    let tail: Buffer | null = null; // a partial row longer than the gap (rare): kept apart
    let tailInGap = 0; // or the length of the partial row already copied in front of cur's data
    for (;;) {
      const got = (await reading).bytesRead;
      filePos += got;
      const isLast = got === 0;
      if (!isLast) reading = fh.read(next, gap, chunkBytes, filePos);
      let buf = cur;
      let start = gap - tailInGap;
      let end = gap + got;
      if (tail) {
        buf = Buffer.concat([tail, cur.subarray(gap, gap + got)]);
        start = 0;
        end = buf.length;
        tail = null;
      }
      const used = c.consume(buf, start, end, isLast);
      if (isLast) {
        yield;
        break;
      }
      // The unfinished row goes in front of the next chunk (the read in flight writes after the gap).
      const rest = end - used;
      if (rest <= gap) {
        buf.copy(next, gap - rest, used, end);
        tailInGap = rest;
      } else {
        tail = Buffer.from(buf.subarray(used, end));
        tailInGap = 0;
      }
      [cur, next] = [next, cur];
      yield;
    }
  } finally {
    await fh.close();
  }
  return c.rows();
}
