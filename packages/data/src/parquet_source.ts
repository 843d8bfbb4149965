import * as fs from 'fs';
import { RowSink } from './row_pipeline';

// hyparquet is ESM-only; Node 20.20 can require() it and jest transforms it (jest.preset.js).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hyparquet = require('hyparquet') as {
  parquetMetadata(buf: ArrayBuffer): { num_rows: bigint; row_groups: { num_rows: bigint }[]; schema: { name: string; num_children?: number }[] };
  parquetRead(o: { file: ArrayBuffer; columns?: string[]; rowStart?: number; rowEnd?: number; onComplete: (rows: unknown[][]) => void }): Promise<void>;
};

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
    const md = hyparquet.parquetMetadata(buffer);
    const columns = md.schema.slice(1).filter((s) => !s.num_children).map((s) => s.name);
    return { path, buffer, columns, rowGroups: md.row_groups.map((g) => Number(g.num_rows)) };
  } catch (e) {
    throw new Error(`${path}: not a valid Parquet file (${(e as Error).message})`);
  }
}

/** Pushes the rows of a Parquet file (the named columns, in that order) into `sink`, a row group at a time. */
export async function* pushParquetRows(pf: ParquetFile, fileIndex: number, columns: string[], sink: RowSink): AsyncGenerator<void> {
  for (const c of columns) if (!pf.columns.includes(c)) throw new Error(`${pf.path}: missing column "${c}" (the file has ${pf.columns.join(', ')})`);
  let start = 0;
  for (const n of pf.rowGroups) {
    let rows: unknown[][] = [];
    try {
      await hyparquet.parquetRead({ file: pf.buffer, columns, rowStart: start, rowEnd: start + n, onComplete: (r) => (rows = r) });
    } catch (e) {
      throw new Error(`${pf.path}: cannot read rows ${start + 1}..${start + n} (${(e as Error).message})`);
    }
    for (let i = 0; i < rows.length; i++) sink.push(null, 0, 0, rows[i].map(normalizeValue), start + i + 1, fileIndex);
    start += n;
    yield;
  }
}

// BigInt ids become numbers when exact (they are hashed as decimal text either way).
function normalizeValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v;
}
