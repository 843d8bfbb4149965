/**
 * A safe arithmetic evaluator for ExprFeature and expression normalizers (never `eval`): the
 * text is tokenized and parsed by precedence into closures over a variables array. Supported:
 * numbers, variables, + - * / % ^ (power), comparisons, == !=, && || !, c ? a : b, parentheses
 * and the functions of TorchEasyRec's expression docs (sin ... sigmoid, min/max/sum/avg).
 */

type Fn = (vars: ArrayLike<number>) => number;

const FUNCTIONS: Record<string, { arity: number | 'var'; f: (...a: number[]) => number }> = {
  sin: { arity: 1, f: Math.sin },
  cos: { arity: 1, f: Math.cos },
  tan: { arity: 1, f: Math.tan },
  asin: { arity: 1, f: Math.asin },
  acos: { arity: 1, f: Math.acos },
  atan: { arity: 1, f: Math.atan },
  sinh: { arity: 1, f: Math.sinh },
  cosh: { arity: 1, f: Math.cosh },
  tanh: { arity: 1, f: Math.tanh },
  asinh: { arity: 1, f: Math.asinh },
  acosh: { arity: 1, f: Math.acosh },
  atanh: { arity: 1, f: Math.atanh },
  log2: { arity: 1, f: Math.log2 },
  log10: { arity: 1, f: Math.log10 },
  log: { arity: 1, f: Math.log },
  ln: { arity: 1, f: Math.log },
  exp: { arity: 1, f: Math.exp },
  sqrt: { arity: 1, f: Math.sqrt },
  sign: { arity: 1, f: Math.sign },
  abs: { arity: 1, f: Math.abs },
  rint: { arity: 1, f: roundHalfEven },
  floor: { arity: 1, f: Math.floor },
  ceil: { arity: 1, f: Math.ceil },
  trunc: { arity: 1, f: Math.trunc },
  round: { arity: 1, f: (x) => Math.sign(x) * Math.round(Math.abs(x)) },
  roundp: { arity: 2, f: (x, p) => (Math.sign(x) * Math.round(Math.abs(x) * 10 ** p)) / 10 ** p },
  sigmoid: { arity: 1, f: (x) => 1 / (1 + Math.exp(-x)) },
  min: { arity: 'var', f: Math.min },
  max: { arity: 'var', f: Math.max },
  sum: { arity: 'var', f: (...a) => a.reduce((s, v) => s + v, 0) },
  avg: { arity: 'var', f: (...a) => a.reduce((s, v) => s + v, 0) / a.length },
};

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Tok {
  t: 'num' | 'id' | 'op' | 'end';
  v: string;
  at: number;
}

function lex(src: string, ctx: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      out.push({ t: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if ('+-*/%^<>!?:(),'.includes(c)) {
      out.push({ t: 'op', v: c, at: i });
      i++;
      continue;
    }
    throw new SyntaxError(
      `${ctx}: unexpected ${JSON.stringify(c)} at column ${i + 1} of expression ${JSON.stringify(src)}`,
    );
  }
  out.push({ t: 'end', v: '', at: src.length });
  return out;
}

/**
 * Compiles `src` over the named variables; the result takes their values in that order.
 * Throws a SyntaxError naming the column for bad syntax, unknown names and wrong arities.
 */
export function compileExpression(
  src: string,
  variables: readonly string[],
  featureName: string,
): (vars: ArrayLike<number>) => number {
  const ctx = `feature "${featureName}"`;
  const toks = lex(src, ctx);
  let p = 0;
  const peek = () => toks[p];
  const fail = (msg: string, tok: Tok = toks[p]): never => {
    throw new SyntaxError(`${ctx}: ${msg} at column ${tok.at + 1} of expression ${JSON.stringify(src)}`);
  };
  const eat = (v: string): void => {
    if (toks[p].v !== v || toks[p].t !== 'op')
      fail(`expected "${v}" but found ${toks[p].t === 'end' ? 'the end' : JSON.stringify(toks[p].v)}`);
    p++;
  };
  const isOp = (v: string) => toks[p].t === 'op' && toks[p].v === v;

  const ternary = (): Fn => {
    const c = or();
    if (!isOp('?')) return c;
    p++;
    const a = ternary();
    eat(':');
    const b = ternary();
    return (v) => (c(v) !== 0 ? a(v) : b(v));
  };
  const binary = (next: () => Fn, ops: Record<string, (a: number, b: number) => number>) => (): Fn => {
    let left = next();
    while (toks[p].t === 'op' && ops[toks[p].v]) {
      const op = ops[toks[p++].v];
      const l = left,
        r = next();
      left = (v) => op(l(v), r(v));
    }
    return left;
  };
  const unary = (): Fn => {
    if (isOp('-')) {
      p++;
      const a = unary();
      return (v) => -a(v);
    }
    if (isOp('+')) {
      p++;
      return unary();
    }
    if (isOp('!')) {
      p++;
      const a = unary();
      return (v) => (a(v) === 0 ? 1 : 0);
    }
    return power();
  };
  const power = (): Fn => {
    const base = primary();
    if (!isOp('^')) return base;
    p++;
    const ex = unary();
    return (v) => base(v) ** ex(v);
  };
  const mul = binary(unary, { '*': (a, b) => a * b, '/': (a, b) => a / b, '%': (a, b) => a % b });
  const add = binary(mul, { '+': (a, b) => a + b, '-': (a, b) => a - b });
  const cmp = binary(add, {
    '<': (a, b) => +(a < b),
    '<=': (a, b) => +(a <= b),
    '>': (a, b) => +(a > b),
    '>=': (a, b) => +(a >= b),
    '==': (a, b) => +(a === b),
    '!=': (a, b) => +(a !== b),
  });
  const and = binary(cmp, { '&&': (a, b) => +(a !== 0 && b !== 0) });
  const or = binary(and, { '||': (a, b) => +(a !== 0 || b !== 0) });
  function primary(): Fn {
    const t = peek();
    if (t.t === 'num') {
      p++;
      const n = Number(t.v);
      return () => n;
    }
    if (t.t === 'id') {
      p++;
      if (isOp('(')) {
        const fn = FUNCTIONS[t.v];
        if (!fn) fail(`unknown function "${t.v}"`, t);
        p++;
        const args: Fn[] = [];
        if (!isOp(')')) {
          args.push(ternary());
          while (isOp(',')) {
            p++;
            args.push(ternary());
          }
        }
        eat(')');
        if (fn.arity === 'var' ? args.length === 0 : args.length !== fn.arity) {
          fail(
            `${t.v} takes ${fn.arity === 'var' ? 'at least 1' : fn.arity} argument${fn.arity === 1 ? '' : 's'} but received ${args.length}`,
            t,
          );
        }
        const f = fn.f;
        if (args.length === 1) {
          const a = args[0];
          return (v) => f(a(v));
        }
        return (v) => f(...args.map((a) => a(v)));
      }
      const idx = variables.indexOf(t.v);
      if (idx >= 0) return (v) => v[idx];
      if (t.v in CONSTANTS) {
        const k = CONSTANTS[t.v];
        return () => k;
      }
      return fail(`unknown variable "${t.v}" (variables: ${variables.join(', ') || 'none'})`, t);
    }
    if (isOp('(')) {
      p++;
      const e = ternary();
      eat(')');
      return e;
    }
    return fail(
      `expected a number, variable, function or "(" but found ${t.t === 'end' ? 'the end' : JSON.stringify(t.v)}`,
    );
  }
  if (src.trim() === '') throw new SyntaxError(`${ctx}: empty expression`);
  const f = ternary();
  if (peek().t !== 'end') fail(`unexpected ${JSON.stringify(peek().v)}`);
  return f;
}
