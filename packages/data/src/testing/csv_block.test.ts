import { csvBlock } from './csv_block';

describe('csvBlock (test fixture)', () => {
  it('maps header names to byte columns and keeps line numbers', () => {
    const b = csvBlock('a,b\n1,x\n2,y\n');
    expect(b.rows).toBe(2);
    const c = b.column('b')!;
    expect(c.kind).toBe('bytes');
    if (c.kind === 'bytes') expect(Buffer.from(c.bytes.subarray(c.starts[1], c.ends[1])).toString()).toBe('y');
    expect(b.line(1)).toBe(3);
    expect(b.columnAt(1, 'b')).toBe(3);
    expect(b.fileOf(0)).toBe('t.csv');
    expect(b.column('zz')).toBeUndefined();
  });
});
