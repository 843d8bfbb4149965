import { packStrings } from '@tsrec/native';
import type { RawColumn } from '../raw_block';

/**
 * The multi-value tokens of a column: token t is bytes[starts[t], ends[t]); row r owns tokens
 * rowOffsets[r] .. rowOffsets[r+1]. `positions[t]` is where the token came from in its row's
 * source bytes (-1 for decoded values), for error columns.
 */
export interface Tokens {
  bytes: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  rowOffsets: Int32Array;
  fromBytes: boolean;
}

/**
 * Splits each field of a column at `separator` (one byte, or '' for single values), dropping
 * empty tokens, so a missing or empty field has no tokens. Decoded values become strings:
 * arrays give one token per element, numbers their decimal form.
 */
export function tokenize(col: RawColumn | undefined, rows: number, separator: string): Tokens {
  if (!col)
    return {
      bytes: new Uint8Array(0),
      starts: new Int32Array(0),
      ends: new Int32Array(0),
      rowOffsets: new Int32Array(rows + 1),
      fromBytes: true,
    };
  if (col.kind === 'bytes') return tokenizeBytes(col.bytes, col.starts, col.ends, rows, separator);
  const strs: string[] = [];
  const rowOffsets = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    pushValueTokens(col.values[r], separator, strs);
    rowOffsets[r + 1] = strs.length;
  }
  const p = packStrings(strs);
  return { bytes: p.bytes, starts: p.starts, ends: p.ends, rowOffsets, fromBytes: false };
}

function pushValueTokens(v: unknown, separator: string, out: string[]): void {
  if (v === null || v === undefined) return;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    for (const x of Array.from(v as ArrayLike<unknown>)) pushValueTokens(x, '', out);
    return;
  }
  const s = typeof v === 'string' ? v : String(v);
  if (s === '') return;
  if (separator === '' || !s.includes(separator)) {
    out.push(s);
    return;
  }
  for (const t of s.split(separator)) if (t !== '') out.push(t);
}

function tokenizeBytes(bytes: Uint8Array, fs: Int32Array, fe: Int32Array, rows: number, separator: string): Tokens {
  const rowOffsets = new Int32Array(rows + 1);
  if (separator === '') {
    let n = 0;
    const starts = new Int32Array(rows);
    const ends = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const s = fs[r],
        e = fe[r];
      if (e > s) {
        starts[n] = s;
        ends[n] = e;
        n++;
      }
      rowOffsets[r + 1] = n;
    }
    return { bytes, starts: starts.subarray(0, n), ends: ends.subarray(0, n), rowOffsets, fromBytes: true };
  }
  if (Buffer.byteLength(separator) !== 1) return tokenizeMultiByte(bytes, fs, fe, rows, separator);
  const sep = separator.charCodeAt(0);
  let cap = rows + 16;
  let starts = new Int32Array(cap);
  let ends = new Int32Array(cap);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    let s = fs[r];
    const e = fe[r];
    let p = s;
    for (;;) {
      while (p < e && bytes[p] !== sep) p++;
      if (p > s) {
        if (n === cap) {
          cap *= 2;
          const ns = new Int32Array(cap),
            ne = new Int32Array(cap);
          ns.set(starts);
          ne.set(ends);
          starts = ns;
          ends = ne;
        }
        starts[n] = s;
        ends[n] = p;
        n++;
      }
      if (p >= e) break;
      s = ++p;
    }
    rowOffsets[r + 1] = n;
  }
  return { bytes, starts: starts.subarray(0, n), ends: ends.subarray(0, n), rowOffsets, fromBytes: true };
}

function tokenizeMultiByte(bytes: Uint8Array, fs: Int32Array, fe: Int32Array, rows: number, separator: string): Tokens {
  const sep = Buffer.from(separator);
  const starts: number[] = [];
  const ends: number[] = [];
  const rowOffsets = new Int32Array(rows + 1);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let r = 0; r < rows; r++) {
    let s = fs[r];
    const e = fe[r];
    while (s <= e) {
      let p = buf.indexOf(sep, s);
      if (p < 0 || p + sep.length > e) p = e;
      if (p > s) {
        starts.push(s);
        ends.push(p);
      }
      s = p + sep.length;
    }
    rowOffsets[r + 1] = starts.length;
  }
  return { bytes, starts: Int32Array.from(starts), ends: Int32Array.from(ends), rowOffsets, fromBytes: true };
}

/** The text of token t (UTF-8). */
export function tokenText(tok: Tokens, t: number): string {
  const s = tok.starts[t];
  return Buffer.from(tok.bytes.buffer, tok.bytes.byteOffset + s, tok.ends[t] - s).toString('utf8');
}
