import { addon } from './addon';
import { hashBuckets } from './hash';
import { hashIdFields, parseDecimalFields, splitDelimitedFast } from './text_fields';

const enc = (s: string) => Buffer.from(s);

describe('text field kernels', () => {
  it('splitDelimitedFast: column-major fields, declines quoted rows, checks its arguments', () => {
    const b = enc('a,bb,\nccc,d,e');
    const fs = new Int32Array(3 * 5),
      fe = new Int32Array(3 * 5);
    expect(splitDelimitedFast(b, Int32Array.of(0, 6), Int32Array.of(5, 13), 44, 34, 3, 5, fs, fe)).toBe(true);
    const text = (c: number, r: number) => b.subarray(fs[c * 5 + r], fe[c * 5 + r]).toString();
    expect([text(0, 0), text(1, 0), text(2, 0), text(0, 1), text(1, 1), text(2, 1)]).toEqual([
      'a',
      'bb',
      '',
      'ccc',
      'd',
      'e',
    ]);
    expect(splitDelimitedFast(enc('"a",b'), Int32Array.of(0), Int32Array.of(5), 44, 34, 2, 1, fs, fe)).toBe(false);
    expect(() => splitDelimitedFast(b, Int32Array.of(0), Int32Array.of(99), 44, 34, 3, 5, fs, fe)).toThrow(
      'splitDelimited: row 0 has range [0, 99) outside the 13-byte buffer (expected 0 <= start <= end <= 13)',
    );
    expect(() => splitDelimitedFast(b, Int32Array.of(0), Int32Array.of(5), 44, 34, 3, 0, fs, fe)).toThrow(
      'Expected an integer >= 1 (the row count) for stride but received 0 of type number',
    );
    expect(() => splitDelimitedFast(b, Int32Array.of(0), Int32Array.of(5), 44, 34, 4, 5, fs, fe)).toThrow(
      'Expected an Int32Array of length >= 20 for fieldStarts',
    );
    expect(() => splitDelimitedFast(b, Int32Array.of(0), Int32Array.of(5), 300, 34, 3, 5, fs, fe)).toThrow(
      'Expected a byte value for delimiter but received 300',
    );
  });

  it('hashIdFields: equals hashBuckets of the tokens; reuses and grows its output arrays', () => {
    const b = enc('x|y|z|w|v|u\n\nq');
    const starts = Int32Array.of(0, 12, 13),
      ends = Int32Array.of(11, 12, 14);
    const out = { values: new Int32Array(2), lengths: new Int32Array(1) };
    const r = hashIdFields(b, starts, ends, { separator: 124, maxValues: 0, numBuckets: 97, defaultId: 5 }, out);
    const toks = ['x', 'y', 'z', 'w', 'v', 'u'].map((_, i) => 2 * i);
    const want = hashBuckets(b, Int32Array.from([...toks, 13]), Int32Array.from([...toks.map((s) => s + 1), 14]), 97);
    expect(Array.from(r.values)).toEqual([...Array.from(want.subarray(0, 6)), 5, want[6]]);
    expect(Array.from(r.lengths)).toEqual([6, 1, 1]);
    expect(out.values.length).toBeGreaterThanOrEqual(8); // grown, and kept for the next call
    expect(r.values.buffer).toBe(out.values.buffer);
    const one = hashIdFields(b, starts, ends, { separator: 124, maxValues: 1, numBuckets: 97, defaultId: null });
    expect(Array.from(one.values)).toEqual([want[0], want[6]]);
    expect(Array.from(one.lengths)).toEqual([1, 0, 1]);
    expect(() =>
      hashIdFields(b, starts, ends, { separator: 124, maxValues: 0, numBuckets: 0, defaultId: null }),
    ).toThrow('Expected an integer in [1, 2147483647] for numBuckets but received 0');
  });

  it('parseDecimalFields: plain decimals parsed, the rest listed for the caller', () => {
    const b = enc('12|-3.5|inf| 7 ||1e400');
    const starts = Int32Array.of(0, 3, 8, 12, 16, 16),
      ends = Int32Array.of(2, 7, 11, 15, 16, 21);
    const out = new Float64Array(6).fill(-1);
    const slow = parseDecimalFields(b, starts, ends, 9, out);
    expect(Array.from(slow)).toEqual([2, 5]);
    expect(Array.from(out)).toEqual([12, -3.5, -1, 7, 9, -1]);
    expect(() => parseDecimalFields(b, starts, ends, 0, new Float64Array(2))).toThrow(
      'Expected a Float64Array of length >= 6 for out',
    );
  });

  it('the bindings refuse starts/ends of different lengths before reading memory (shared RangesOf)', () => {
    const a = addon() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const b = enc('abcd');
    expect(() => a.hashBuckets(b, Int32Array.of(0, 1), Int32Array.of(1), 10, new Int32Array(2))).toThrow(
      'starts and ends must have the same length',
    );
    expect(() =>
      a.parseDecimalFields(b, Int32Array.of(0, 1), Int32Array.of(1), 0, new Float64Array(2), new Int32Array(2)),
    ).toThrow('starts and ends must have the same length');
  });
});
