import {
  delimitedFormat,
  FieldTable,
  firstInvalidUtf8,
  frameRows,
  newRowFrames,
  splitFields,
} from './delimited_splitter';

function split(text: string | Buffer, cols: number, delim = ',') {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const fmt = delimitedFormat(delim);
  const frames = newRowFrames(100);
  frameRows(buf, 0, buf.length, true, 1, frames);
  const table = new FieldTable(cols, 100);
  const errors = splitFields(buf, frames, fmt, table);
  const rows: string[][] = [];
  for (let r = 0; r < table.rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++)
      row.push(buf.subarray(table.starts[c * table.stride + r], table.ends[c * table.stride + r]).toString());
    rows.push(row);
  }
  return { rows, errors, lines: Array.from(table.lines.subarray(0, table.rows)) };
}

describe('frameRows', () => {
  it('cuts rows at every newline (quoted or not), drops CR and blank lines, counts lines', () => {
    const buf = Buffer.from('a,b\r\n\n"x\ny",z\nlast');
    const f = newRowFrames(10);
    const r = frameRows(buf, 0, buf.length, true, 1, f);
    expect(f.count).toBe(4);
    expect(Array.from(f.lines.subarray(0, 4))).toEqual([1, 3, 4, 5]);
    expect(buf.subarray(f.starts[1], f.ends[1]).toString()).toBe('"x');
    expect(buf.subarray(f.starts[2], f.ends[2]).toString()).toBe('y",z');
    expect(r.pos).toBe(buf.length);
  });

  it('leaves an incomplete last row for the next chunk unless it is the last', () => {
    const buf = Buffer.from('a,b\nc,d');
    const f = newRowFrames(10);
    const r = frameRows(buf, 0, buf.length, false, 1, f);
    expect(f.count).toBe(1);
    expect(r.pos).toBe(4);
    expect(r.line).toBe(2);
  });
});

describe('splitFields', () => {
  it('splits plain, empty and trailing fields', () => {
    expect(split('a,,c\n1,2,\n', 3).rows).toEqual([
      ['a', '', 'c'],
      ['1', '2', ''],
    ]);
  });

  it('unquotes quoted fields with delimiters and doubled quotes', () => {
    expect(split('"a,b","say ""hi""",c\n', 3).rows[0]).toEqual(['a,b', 'say "hi"', 'c']);
    expect(split('"x",y,""\n', 3).rows[0]).toEqual(['x', 'y', '']);
  });

  it('takes a quote inside a field as an ordinary character (as pyarrow does)', () => {
    expect(split('ab"c\td\ne\tf"\n', 2, '\t').rows).toEqual([
      ['ab"c', 'd'],
      ['e', 'f"'],
    ]);
  });

  it('a stray opening quote costs its own line only, reported where the quote opened', () => {
    const lines = ['1\ta', '2\t"b', '3\tc', '4\td"', '5\te'];
    const { rows, errors } = split(`${lines.join('\n')}\n`, 2, '\t');
    expect(rows).toEqual([
      ['1', 'a'],
      ['3', 'c'],
      ['4', 'd"'],
      ['5', 'e'],
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 2, column: 3, reason: 'unterminated_quote' });
    expect(errors[0]!.message).toMatch(/not closed on its line/);
  });

  it('handles tabs and UTF-8', () => {
    expect(split('héllo\twörld\n', 2, '\t').rows).toEqual([['héllo', 'wörld']]);
  });

  it('reports ragged rows, invalid UTF-8 and text after a closing quote with line and column, and keeps the good rows', () => {
    const bad = Buffer.concat([
      Buffer.from('a,b\n1,2,3\n'),
      Buffer.from([0x78, 0x2c, 0xff, 0x0a]),
      Buffer.from('"q"x,y\nok,1\n'),
    ]);
    const { rows, errors, lines } = split(bad, 2);
    expect(rows).toEqual([
      ['a', 'b'],
      ['ok', '1'],
    ]);
    expect(lines).toEqual([1, 5]);
    expect(errors.map((e) => [e.reason, e.line, e.column, e.message])).toEqual([
      ['ragged_row', 2, 6, 'expected 2 fields but found 3'],
      ['invalid_utf8', 3, 3, 'invalid UTF-8 byte 0xff'],
      ['unterminated_quote', 4, 4, 'expected a delimiter after the closing quote but found "x"'],
    ]);
  });

  it('an unclosed quote costs its own line, not the rest of the input', () => {
    const { rows, errors } = split('a,b\n"open,x\nc,d\n', 2);
    expect(rows).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(errors.map((e) => [e.reason, e.line, e.column])).toEqual([['unterminated_quote', 2, 1]]);
  });

  it('delimitedFormat rejects multi-byte delimiters', () => {
    expect(() => delimitedFormat('::')).toThrow('Expected a single-byte character for delimiter but received "::"');
  });
});

describe('firstInvalidUtf8', () => {
  it('accepts valid sequences and finds overlong, truncated and surrogate ones', () => {
    const ok = Buffer.from('aé€😀');
    expect(firstInvalidUtf8(ok, 0, ok.length)).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]), 0, 3)).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x82]), 0, 3)).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]), 0, 3)).toBe(0);
  });
});
