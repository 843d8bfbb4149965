/**
 * One grammar for every argument error, after sharp's invalidParameterError:
 * "Expected <expected> for <name> but received <actual> of type <type>".
 */
export function invalidParameterError(name: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(actual)} of type ${typeName(actual)}`);
}

/** Short printable form of a value for error messages. */
function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v && typeof v === 'object') return v.constructor?.name ?? 'object';
  return String(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v;
}

/**
 * Re-throws an error raised inside the addon with the caller's stack (captured before the
 * native call), so users see where in their code the bad input came from.
 */
export function nativeError(err: unknown, stack: Error): Error {
  // Duck-typed: errors thrown by the addon belong to the outer realm under jest, so instanceof fails.
  const e = err && typeof err === 'object' && 'message' in err ? (err as Error) : new Error(String(err));
  const wrapped = new Error(e.message);
  const code = (e as { code?: string }).code;
  if (code) (wrapped as Error & { code?: string }).code = code;
  wrapped.stack = `Error: ${e.message}\n${(stack.stack ?? '').split('\n').slice(1).join('\n')}`;
  return wrapped;
}
