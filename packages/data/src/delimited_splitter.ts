/**
 * The CSV/TSV hot path, in two byte-level passes and no string allocation:
 *
 * 1. `frameRows` finds row boundaries in a chunk (newlines), so rows can be
 *    partitioned, shuffled and copied as byte slices;
 * 2. `splitFields` cuts a set of rows into fields and records each field as a byte range, stored
 *    column-major (`starts[c * stride + r]`), which is what the feature engine and the native
 *    hash consume directly.
 *
 * Quoted fields (`"a,b"`, `"say ""hi"""`) are supported as pyarrow's CSV reader (TorchEasyRec's)
 * reads them with its defaults: a quote opens a quoted value only at the start of a field (inside
 * a field it is an ordinary character), and a value cannot span lines. Doubled quotes are
 * unescaped in place (the unescaped text is never longer), so every field stays one contiguous
 * range of the buffer it came from.
 */

import { splitDelimitedFast } from '@tsrec/native';
import { nativeFieldKernels } from './native_fields';

const NL = 10;
const CR = 13;

/** Byte-level options of a delimited file. */
export interface DelimitedFormat {
  /** Field delimiter byte (e.g. 9 for tab, 44 for comma). */
  delimiter: number;
  /** Quote byte (34 for `"`), or -1 to treat quotes as ordinary bytes. */
  quote: number;
}

/** Makes a DelimitedFormat from a one-character delimiter. */
export function delimitedFormat(delimiter: string, quote: string | null = '"'): DelimitedFormat {
  if (typeof delimiter !== 'string' || Buffer.byteLength(delimiter) !== 1) {
    throw new TypeError(`Expected a single-byte character for delimiter but received ${JSON.stringify(delimiter)}`);
  }
  if (quote !== null && Buffer.byteLength(quote) !== 1)
    throw new TypeError(`Expected a single-byte character or null for quote but received ${JSON.stringify(quote)}`);
  return { delimiter: delimiter.charCodeAt(0), quote: quote === null ? -1 : quote.charCodeAt(0) };
}

/** Rows found by `frameRows`: byte ranges (without the line break) and their first line numbers. */
export interface RowFrames {
  starts: Int32Array;
  ends: Int32Array;
  lines: Int32Array;
  count: number;
}

/** Allocates room for `capacity` rows. */
export function newRowFrames(capacity: number): RowFrames {
  return {
    starts: new Int32Array(capacity),
    ends: new Int32Array(capacity),
    lines: new Int32Array(capacity),
    count: 0,
  };
}

/**
 * Appends to `out` the complete rows of buf[pos, end) (stops when `out` is full). A row ends at
 * every newline, quoted or not: as in TorchEasyRec's reader (pyarrow's CSV with
 * newlines_in_values false), a value cannot hold a line break, so a stray quote costs at most its
 * own line (reported by `splitFields` at the quote) instead of swallowing the rows after it. A
 * trailing CR is dropped; blank lines are skipped. When `isLast`, the bytes after the last newline
 * form a row too. Returns the position after the last consumed row and the line number there
 * (1-based).
 */
export function frameRows(
  buf: Uint8Array,
  pos: number,
  end: number,
  isLast: boolean,
  firstLine: number,
  out: RowFrames,
): { pos: number; line: number } {
  let line = firstLine;
  const cap = out.starts.length;
  while (pos < end && out.count < cap) {
    const rowStart = pos;
    const nl = buf.indexOf(NL, pos);
    const found = nl >= 0 && nl < end;
    if (!found && !isLast) return { pos: rowStart, line };
    const i = found ? nl : end;
    let rowEnd = i;
    if (rowEnd > rowStart && buf[rowEnd - 1] === CR) rowEnd--;
    if (rowEnd > rowStart) {
      const k = out.count++;
      out.starts[k] = rowStart;
      out.ends[k] = rowEnd;
      out.lines[k] = line;
    }
    pos = found ? i + 1 : end;
    line++;
  }
  return { pos, line };
}

/** Fields of up to `capacity` rows, column-major. */
export class FieldTable {
  readonly numCols: number;
  readonly capacity: number;
  /**
   * Elements from one column to the next: room for `capacity` rows, padded to an odd number of
   * 64-byte lines. With a power-of-two stride (4096 rows = 16 KiB), the fields of one row land
   * in one L1 cache set and splitting runs ~10x slower (native/bench/NOTES.md, session 5).
   */
  readonly stride: number;
  /** starts[c * stride + r] .. ends[c * stride + r]: field c of row r in `bytes`. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Line number of each row, and the byte offset of its line start (for columns in messages). */
  readonly lines: Int32Array;
  readonly lineStarts: Int32Array;
  bytes: Uint8Array = new Uint8Array(0);
  rows = 0;

  constructor(numCols: number, capacity: number) {
    this.numCols = numCols;
    this.capacity = capacity;
    const cacheLines = Math.ceil(capacity / 16) | 1;
    this.stride = cacheLines * 16;
    this.starts = new Int32Array(numCols * this.stride);
    this.ends = new Int32Array(numCols * this.stride);
    this.lines = new Int32Array(capacity);
    this.lineStarts = new Int32Array(capacity);
  }

  /** Field c of the rows as (starts, ends) views of length `rows`. */
  column(c: number): { starts: Int32Array; ends: Int32Array } {
    const o = c * this.stride;
    return { starts: this.starts.subarray(o, o + this.rows), ends: this.ends.subarray(o, o + this.rows) };
  }

  /** 1-based byte column of a position in row r. */
  columnOf(r: number, pos: number): number {
    return pos - this.lineStarts[r] + 1;
  }
}

/** A row that could not be split: its index among the input rows, its line, the column and why. */
export interface SplitError {
  row: number;
  line: number;
  column: number;
  reason: 'ragged_row' | 'invalid_utf8' | 'unterminated_quote';
  message: string;
}

/**
 * Splits rows into `table` (which must have room for them); rows with the wrong field count,
 * invalid UTF-8 or a broken quote are left out and reported in the returned list.
 */
export function splitFields(bytes: Uint8Array, rows: RowFrames, fmt: DelimitedFormat, table: FieldTable): SplitError[] {
  const errors: SplitError[] = [];
  const C = table.numCols;
  const cap = table.stride;
  const { starts, ends } = table;
  const delim = fmt.delimiter;
  const quote = fmt.quote;
  table.bytes = bytes;
  // Native fast path: every row plain (no quoted field, the right field count, valid UTF-8).
  // It writes no bytes, so when it declines, the loop below starts from the same input.
  const n = rows.count;
  if (
    n > 0 &&
    nativeFieldKernels() &&
    splitDelimitedFast(bytes, rows.starts.subarray(0, n), rows.ends.subarray(0, n), delim, quote, C, cap, starts, ends)
  ) {
    table.lines.set(rows.lines.subarray(0, n));
    table.lineStarts.set(rows.starts.subarray(0, n));
    table.rows = n;
    return errors;
  }
  let r = 0;
  for (let k = 0; k < rows.count; k++) {
    const rs = rows.starts[k];
    const re = rows.ends[k];
    let c = 0;
    let p = rs;
    let high = 0;
    let bad: SplitError | null = null;
    // One field per iteration; p is at the field's first byte.
    for (;;) {
      let fs = p;
      let fe: number;
      if (quote >= 0 && p < re && bytes[p] === quote) {
        // Quoted: find the closing quote, unescaping "" in place.
        let w = p + 1;
        let q = p + 1;
        let closed = false;
        while (q < re) {
          const b = bytes[q];
          high |= b;
          if (b === quote) {
            if (q + 1 < re && bytes[q + 1] === quote) {
              bytes[w++] = quote;
              q += 2;
              continue;
            }
            closed = true;
            break;
          }
          if (w !== q) bytes[w] = b;
          w++;
          q++;
        }
        if (!closed) {
          bad = {
            row: k,
            line: rows.lines[k],
            column: p - rs + 1,
            reason: 'unterminated_quote',
            message: 'a quoted field opened here is not closed on its line (a value cannot span lines)',
          };
          break;
        }
        fs = p + 1;
        fe = w;
        p = q + 1;
        if (p < re && bytes[p] !== delim) {
          bad = {
            row: k,
            line: rows.lines[k],
            column: p - rs + 1,
            reason: 'unterminated_quote',
            message: `expected a delimiter after the closing quote but found ${JSON.stringify(String.fromCharCode(bytes[p]))}`,
          };
          break;
        }
      } else {
        while (p < re) {
          const b = bytes[p];
          if (b === delim) break;
          high |= b;
          p++;
        }
        fe = p;
      }
      if (c < C) {
        starts[c * cap + r] = fs;
        ends[c * cap + r] = fe;
      }
      c++;
      if (p >= re) break;
      p++; // the delimiter
      if (p === re) {
        // A trailing delimiter: one more, empty field.
        if (c < C) starts[c * cap + r] = ends[c * cap + r] = re;
        c++;
        break;
      }
    }
    if (!bad && c !== C) {
      bad = {
        row: k,
        line: rows.lines[k],
        column: re - rs + 1,
        reason: 'ragged_row',
        message: `expected ${C} fields but found ${c}`,
      };
    }
    if (!bad && high >= 0x80) {
      const at = firstInvalidUtf8(bytes, rs, re);
      if (at >= 0)
        bad = {
          row: k,
          line: rows.lines[k],
          column: at - rs + 1,
          reason: 'invalid_utf8',
          message: `invalid UTF-8 byte 0x${bytes[at].toString(16)}`,
        };
    }
    if (bad) {
      errors.push(bad);
      continue;
    }
    table.lines[r] = rows.lines[k];
    table.lineStarts[r] = rs;
    r++;
  }
  table.rows = r;
  return errors;
}

/** Index of the first byte of an invalid UTF-8 sequence in bytes[s, e), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array, s: number, e: number): number {
  let i = s;
  while (i < e) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= e) return i;
    let cp = b & (0x3f >> need);
    for (let j = 1; j <= need; j++) {
      const c = bytes[i + j];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
