import type { FieldTable } from './delimited_splitter';

/**
 * A block of input rows as the feature engine sees them: named columns that are either byte
 * ranges into one buffer (CSV/TSV, straight from the splitter) or decoded values (Parquet).
 */
export type RawColumn = ByteColumn | ValueColumn;

/** Field r is bytes[starts[r], ends[r]). */
export interface ByteColumn {
  kind: 'bytes';
  bytes: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** Decoded values (string | number | bigint | boolean | null | arrays of those). */
export interface ValueColumn {
  kind: 'values';
  values: ArrayLike<unknown>;
}

/** Rows of one input file, with what error messages need to point at a row and column. */
export interface RawBlock {
  readonly rows: number;
  /** The file row r came from. */
  fileOf(r: number): string;
  /** A column by name, or undefined when the input has none. */
  column(name: string): RawColumn | undefined;
  /** 1-based line (CSV) or row (Parquet) of row r. */
  line(r: number): number;
  /** 1-based column of a byte position in row r (CSV), or of the named field (Parquet). */
  columnAt(r: number, name: string, pos?: number): number;
}

/** A RawBlock over a FieldTable: column names map to field indices. */
export class DelimitedBlock implements RawBlock {
  readonly rows: number;
  private readonly cols = new Map<string, ByteColumn>();

  constructor(
    readonly table: FieldTable,
    private readonly files: readonly string[],
    private readonly fileIndex: ArrayLike<number>,
    private readonly index: ReadonlyMap<string, number>,
  ) {
    this.rows = table.rows;
  }

  fileOf(r: number): string {
    return this.files[this.fileIndex[r]];
  }

  column(name: string): RawColumn | undefined {
    let c = this.cols.get(name);
    if (c) return c;
    const i = this.index.get(name);
    if (i === undefined) return undefined;
    const { starts, ends } = this.table.column(i);
    c = { kind: 'bytes', bytes: this.table.bytes, starts, ends };
    this.cols.set(name, c);
    return c;
  }

  line(r: number): number {
    return this.table.lines[r];
  }

  columnAt(r: number, name: string, pos?: number): number {
    if (pos === undefined) {
      const i = this.index.get(name);
      pos = i === undefined ? this.table.lineStarts[r] : this.table.starts[i * this.table.stride + r];
    }
    return this.table.columnOf(r, pos);
  }
}

/** A RawBlock over decoded columns (Parquet, or objects in tests). */
export class ValueBlock implements RawBlock {
  private readonly index: Map<string, number>;
  /** rowNumbers[r]: 1-based row of row r in its file (default r + 1). */
  constructor(
    readonly rows: number,
    private readonly file: string | ((r: number) => string),
    private readonly columns: Record<string, ArrayLike<unknown>>,
    private readonly rowNumbers?: ArrayLike<number>,
    fieldOrder: readonly string[] = Object.keys(columns),
  ) {
    this.index = new Map(fieldOrder.map((n, i) => [n, i]));
  }

  fileOf(r: number): string {
    return typeof this.file === 'string' ? this.file : this.file(r);
  }

  column(name: string): RawColumn | undefined {
    const v = this.columns[name];
    return v === undefined ? undefined : { kind: 'values', values: v };
  }

  line(r: number): number {
    return this.rowNumbers ? this.rowNumbers[r] : r + 1;
  }

  columnAt(_r: number, name: string): number {
    return (this.index.get(name) ?? -1) + 1;
  }
}
