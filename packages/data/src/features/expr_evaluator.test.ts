import { compileExpression } from './expr_evaluator';

const ev = (src: string, vars: Record<string, number> = {}) =>
  compileExpression(src, Object.keys(vars), 'f')(Object.values(vars));

describe('compileExpression', () => {
  it('respects precedence and associativity', () => {
    expect(ev('1 + 2 * 3')).toBe(7);
    expect(ev('(1 + 2) * 3')).toBe(9);
    expect(ev('2 ^ 3 ^ 2')).toBe(512);
    expect(ev('-2 ^ 2')).toBe(-4);
    expect(ev('10 % 4 - 1')).toBe(1);
    expect(ev('1 < 2 && 3 >= 3 || 0')).toBe(1);
    expect(ev('!0 + !5')).toBe(1);
    expect(ev('x > 1 ? x * 2 : -x', { x: 3 })).toBe(6);
    expect(ev('x > 1 ? x * 2 : -x', { x: 0.5 })).toBe(-0.5);
  });
  it('has the documented functions and constants', () => {
    expect(ev('max(1, x, 3)', { x: 9 })).toBe(9);
    expect(ev('avg(1, 2, 3)')).toBe(2);
    expect(ev('roundp(3.14159, 2)')).toBe(3.14);
    expect(ev('round(-2.5)')).toBe(-3);
    expect(ev('rint(2.5)')).toBe(2);
    expect(ev('sigmoid(0)')).toBe(0.5);
    expect(ev('log10(1000) + sign(-4) + abs(-2)')).toBe(4);
    expect(ev('floor(pi)')).toBe(3);
  });
  it('never evaluates JavaScript and reports errors with a column', () => {
    expect(() => ev('process.exit(1)')).toThrow(
      'feature "f": unexpected "." at column 8 of expression "process.exit(1)"',
    );
    expect(() => ev('y + 1', { x: 1 })).toThrow(
      'feature "f": unknown variable "y" (variables: x) at column 1 of expression "y + 1"',
    );
    expect(() => ev('foo(1)')).toThrow('feature "f": unknown function "foo" at column 1 of expression "foo(1)"');
    expect(() => ev('sin(1, 2)')).toThrow(
      'feature "f": sin takes 1 argument but received 2 at column 1 of expression "sin(1, 2)"',
    );
    expect(() => ev('(1 + 2')).toThrow(
      'feature "f": expected ")" but found the end at column 7 of expression "(1 + 2"',
    );
    expect(() => ev('1 +')).toThrow(
      'feature "f": expected a number, variable, function or "(" but found the end at column 4 of expression "1 +"',
    );
    expect(() => ev('1 2')).toThrow('feature "f": unexpected "2" at column 3 of expression "1 2"');
    expect(() => ev('a = 1', { a: 0 })).toThrow('feature "f": unexpected "=" at column 3 of expression "a = 1"');
    expect(() => ev('  ')).toThrow('feature "f": empty expression');
  });
});
