/**
 * An embedding table's initialisation, from TorchEasyRec's `init_fn` / `wide_init_fn` expression
 * (`"nn.init.uniform_,a=-0.01,b=0.01"`, evaluated by TorchEasyRec as `partial(<expr>)`): uniform
 * in [low, high], or every weight `value`.
 */
export type EmbeddingInit = { kind: 'uniform'; low: number; high: number } | { kind: 'constant'; value: number };

/** The init functions tsrec runs, with PyTorch's defaults for their arguments. */
const FUNCTIONS: Record<string, { args: Record<string, number>; make: (a: Record<string, number>) => EmbeddingInit }> =
  {
    'nn.init.uniform_': { args: { a: 0, b: 1 }, make: (a) => ({ kind: 'uniform', low: a.a, high: a.b }) },
    'nn.init.constant_': { args: { val: Number.NaN }, make: (a) => ({ kind: 'constant', value: a.val }) },
    'nn.init.zeros_': { args: {}, make: () => ({ kind: 'constant', value: 0 }) },
    'nn.init.ones_': { args: {}, make: () => ({ kind: 'constant', value: 1 }) },
  };

/** The functions parseInitFn accepts, for messages. */
export const SUPPORTED_INIT_FNS: readonly string[] = Object.keys(FUNCTIONS);

/**
 * Parses an init_fn expression: the function name, then `name=number` keyword arguments or
 * positional numbers, comma-separated (`torch.nn.init.` is accepted for `nn.init.`). Returns the
 * initialisation, or an error sentence saying what is wrong or not supported yet.
 */
export function parseInitFn(expr: string): EmbeddingInit | { error: string } {
  const parts = expr.split(',').map((p) => p.trim());
  const name = parts[0].replace(/^torch\./, '');
  const fn = FUNCTIONS[name];
  if (!fn)
    return {
      error: `init function '${parts[0]}' is not supported yet by tsrec; supported: ${SUPPORTED_INIT_FNS.join(', ')}`,
    };
  const names = Object.keys(fn.args);
  const args = { ...fn.args };
  for (let i = 1; i < parts.length; i++) {
    const m = /^(?:([A-Za-z_]\w*)\s*=\s*)?(.+)$/.exec(parts[i]);
    const key = m?.[1] ?? names[i - 1];
    const value = Number(m?.[2]);
    if (!m || key === undefined || !(key in args))
      return { error: `unexpected argument '${parts[i]}' for ${name} (it takes ${names.join(', ') || 'none'})` };
    if (!Number.isFinite(value)) return { error: `expected a number for ${key} of ${name} but received '${m[2]}'` };
    args[key] = value;
  }
  if (Number.isNaN(args.val)) return { error: `expected val=<number> for ${name}` };
  const init = fn.make(args);
  if (init.kind === 'uniform' && !(init.low <= init.high))
    return { error: `expected a <= b for ${name} but received a=${init.low}, b=${init.high}` };
  return init;
}
