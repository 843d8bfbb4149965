import { parseInteger, parseNumber } from './number_parser';

const num = (s: string) => parseNumber(Buffer.from(s), 0, Buffer.byteLength(s));
const int = (s: string) => parseInteger(Buffer.from(s), 0, Buffer.byteLength(s));

describe('parseNumber', () => {
  it('equals Number() on decimals, exponents and signs', () => {
    for (const s of [
      '0',
      '-1',
      '+2',
      '3.25',
      '-0.5',
      '.5',
      '5.',
      '1e3',
      '1.5E-3',
      '260.0',
      '17668.0',
      '123456789012345',
      '0.1',
      '2.2250738585072014e-308',
      '1234567890.123456789',
    ])
      expect(num(s)).toBe(Number(s));
  });
  it('trims spaces and rejects the rest', () => {
    expect(num(' 42 ')).toBe(42);
    for (const s of ['', ' ', 'abc', '1x', '1e', '--1', '1.2.3']) expect(num(s)).toBeNaN();
    expect(num('inf')).toBeNaN();
    // not finite as float32 (the values' type downstream): no Infinity reaches a model
    for (const s of ['Infinity', '-Infinity', '1e400', '-1e39', '3.5e38']) expect(num(s)).toBeNaN();
    expect(num('3.4e38')).toBe(3.4e38);
  });
});

describe('parseInteger', () => {
  it('parses signed decimals only', () => {
    expect(int('17')).toBe(17);
    expect(int('-3')).toBe(-3);
    for (const s of ['', '1.5', 'x', '-']) expect(int(s)).toBeNaN();
  });
});
