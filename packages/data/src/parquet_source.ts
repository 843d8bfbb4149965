import * as fs from 'node:fs';
import type { RowSink } from './row_pipeline';

interface Hyparquet {
  parquetMetadata(buf: ArrayBuffer): {
    num_rows: bigint;
    row_groups: { num_rows: bigint }[];
    schema: { name: string; num_children?: number }[];
  };
  parquetRead(o: {
    file: ArrayBuffer;
    columns?: string[];
    rowStart?: number;
    rowEnd?: number;
    onComplete: (rows: unknown[][]) => void;
  }): Promise<void>;
}
let hyparquetModule: Hyparquet | undefined;
/**
 * hyparquet is ESM-only; Node 20.20 can require() it and jest transforms it (jest.preset.js).
 * Loaded on first use, not with this module: every data worker imports this file, and Node 20
 * aborts the whole process (a V8 fatal error in require(esm)) when a worker is terminated while
 * it synchronously loads an ES module — CSV workers now never do.
 */
function hyparquet(): Hyparquet {
  hyparquetModule ??= require('hyparquet') as Hyparquet;
  return hyparquetModule;
}

/** An opened Parquet file: its bytes and metadata (a truncated or foreign file fails here, by name). */
export interface ParquetFile {
  path: string;
  buffer: ArrayBuffer;
  columns: string[];
  rowGroups: number[];
}

/** Reads a Parquet file's footer; the error names the file when it is not valid Parquet. */
export function openParquet(path: string): ParquetFile {
  const b = fs.readFileSync(path);
  const buffer = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  try {
    const md = hyparquet().parquetMetadata(buffer);
    const columns = md.schema
      .slice(1)
      .filter((s) => !s.num_children)
      .map((s) => s.name);
    return { path, buffer, columns, rowGroups: md.row_groups.map((g) => Number(g.num_rows)) };
  } catch (e) {
    throw new Error(`${path}: not a valid Parquet file (${(e as Error).message})`);
  }
}

/** Checks that a Parquet file has the named columns. */
export function checkParquetColumns(pf: ParquetFile, columns: string[]): void {
  for (const c of columns)
    if (!pf.columns.includes(c))
      throw new Error(`${pf.path}: missing column "${c}" (the file has ${pf.columns.join(', ')})`);
}

/** Decodes rows [start, start + n) of a Parquet file (one row group): one value array per row, in `columns` order. */
export async function decodeParquetRows(
  pf: ParquetFile,
  columns: string[],
  start: number,
  n: number,
): Promise<unknown[][]> {
  let rows: unknown[][] = [];
  try {
    await hyparquet().parquetRead({
      file: pf.buffer,
      columns,
      rowStart: start,
      rowEnd: start + n,
      onComplete: (r) => (rows = r),
    });
  } catch (e) {
    throw new Error(`${pf.path}: cannot read rows ${start + 1}..${start + n} (${(e as Error).message})`);
  }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let c = 0; c < r.length; c++) r[c] = normalizeValue(r[c]);
  }
  return rows;
}

/**
 * Pushes the rows of a Parquet file (the named columns, in that order) into `sink`, a row group
 * at a time. `decode` decodes one row group (default: here; the loader passes its worker pool's,
 * which keeps several row groups decoding in parallel, `ahead` of the one being pushed).
 */
export async function* pushParquetRows(
  pf: ParquetFile,
  fileIndex: number,
  columns: string[],
  sink: RowSink,
  decode: (start: number, n: number) => Promise<unknown[][]> = (start, n) => decodeParquetRows(pf, columns, start, n),
  ahead = 0,
): AsyncGenerator<void> {
  checkParquetColumns(pf, columns);
  const starts: number[] = [];
  let at = 0;
  for (const n of pf.rowGroups) {
    starts.push(at);
    at += n;
  }
  const pending: Promise<unknown[][]>[] = [];
  let next = 0;
  const issue = () => {
    const g = next++;
    const p = decode(starts[g], pf.rowGroups[g]);
    p.catch(() => undefined); // awaited in order below
    pending.push(p);
  };
  for (let g = 0; g < pf.rowGroups.length; g++) {
    while (next < pf.rowGroups.length && next <= g + ahead) issue();
    const rows = await pending.shift()!;
    const start = starts[g];
    for (let i = 0; i < rows.length; i++) sink.push(null, 0, 0, rows[i], start + i + 1, fileIndex);
    yield;
  }
}

// BigInt ids become numbers when exact (they are hashed as decimal text either way).
function normalizeValue(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v;
}
