import { ScalarType, type DescEnum } from '@bufbuild/protobuf';
import type { ScalarNode } from './config_ast';
import { didYouMean } from './did_you_mean';

/** The result of converting a literal: a value for the reflection API, or why it failed. */
export type Converted = { ok: true; value: unknown } | { ok: false; expected: string; suggestion?: string };

const INT_RANGES: Partial<Record<ScalarType, [bigint, bigint, string]>> = {
  [ScalarType.INT32]: [-(2n ** 31n), 2n ** 31n - 1n, 'a 32-bit integer'],
  [ScalarType.SINT32]: [-(2n ** 31n), 2n ** 31n - 1n, 'a 32-bit integer'],
  [ScalarType.SFIXED32]: [-(2n ** 31n), 2n ** 31n - 1n, 'a 32-bit integer'],
  [ScalarType.UINT32]: [0n, 2n ** 32n - 1n, 'an unsigned 32-bit integer'],
  [ScalarType.FIXED32]: [0n, 2n ** 32n - 1n, 'an unsigned 32-bit integer'],
  [ScalarType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n, 'a 64-bit integer'],
  [ScalarType.SINT64]: [-(2n ** 63n), 2n ** 63n - 1n, 'a 64-bit integer'],
  [ScalarType.SFIXED64]: [-(2n ** 63n), 2n ** 63n - 1n, 'a 64-bit integer'],
  [ScalarType.UINT64]: [0n, 2n ** 64n - 1n, 'an unsigned 64-bit integer'],
  [ScalarType.FIXED64]: [0n, 2n ** 64n - 1n, 'an unsigned 64-bit integer'],
};

const FLOAT32_MAX = 3.4028234663852886e38;

/** What a field of this type accepts, for "expected <what>" messages. */
export function expectedDescription(scalar: ScalarType | undefined, enumDesc: DescEnum | undefined): string {
  if (enumDesc) return `one of ${enumDesc.values.map((v) => v.name).join(', ')}`;
  switch (scalar) {
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return 'a number';
    case ScalarType.BOOL:
      return 'true or false';
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 'a quoted string';
    default:
      return INT_RANGES[scalar!]![2];
  }
}

function parseInteger(raw: string): bigint | undefined {
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(raw);
  if (!m) return undefined;
  const body = m[2];
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body[0] === '0') v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  return m[1] ? -v : v;
}

function parseFloatLiteral(raw: string): number | undefined {
  const r = raw.replace(/[fF]$/, '');
  if (/^-?(inf|infinity)$/i.test(r)) return r.startsWith('-') ? -Infinity : Infinity;
  if (/^-?nan$/i.test(r)) return NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(r) && !/^-?0[xX][0-9a-fA-F]+$/.test(r)) return undefined;
  return Number(r);
}

/**
 * Converts a literal to a value of a scalar or enum field. `json` selects JSON rules (numbers
 * may come as strings, enums as names or numbers) instead of text-format rules.
 */
export function convertScalar(
  scalar: ScalarType | undefined,
  enumDesc: DescEnum | undefined,
  node: ScalarNode,
  json: boolean,
): Converted {
  const expected = expectedDescription(scalar, enumDesc);
  const fail = (suggestion?: string): Converted => ({ ok: false, expected, suggestion });
  if (enumDesc) {
    if (node.type === 'identifier' || (json && node.type === 'string')) {
      const v = enumDesc.values.find((x) => x.name === node.value);
      if (v) return { ok: true, value: v.number };
      const lower = String(node.value).toLowerCase();
      const ci = enumDesc.values.find((x) => x.name.toLowerCase() === lower);
      return fail(
        ci?.name ??
          didYouMean(
            String(node.value),
            enumDesc.values.map((x) => x.name),
          ),
      );
    }
    if (node.type === 'number') {
      const n = parseInteger(node.raw);
      const v = n === undefined ? undefined : enumDesc.values.find((x) => BigInt(x.number) === n);
      return v ? { ok: true, value: v.number } : fail();
    }
    if (node.type === 'string') return fail(enumDesc.values.find((x) => x.name === node.value)?.name);
    return fail();
  }
  switch (scalar) {
    case ScalarType.STRING:
      return node.type === 'string' ? { ok: true, value: node.value } : fail();
    case ScalarType.BYTES:
      if (node.type !== 'string') return fail();
      return { ok: true, value: Uint8Array.from(String(node.value), (c) => c.charCodeAt(0) & 0xff) };
    case ScalarType.BOOL:
      if (node.type === 'bool') return { ok: true, value: node.value };
      if (!json && node.type === 'identifier') {
        if (['true', 'True', 't'].includes(node.raw)) return { ok: true, value: true };
        if (['false', 'False', 'f'].includes(node.raw)) return { ok: true, value: false };
      }
      if (!json && node.type === 'number' && (node.raw === '0' || node.raw === '1'))
        return { ok: true, value: node.raw === '1' };
      return fail();
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      let v: number | undefined;
      if (node.type === 'number' || (!json && node.type === 'identifier')) v = parseFloatLiteral(node.raw);
      else if (json && node.type === 'string') {
        const s = String(node.value);
        v =
          s === 'NaN'
            ? NaN
            : s === 'Infinity'
              ? Infinity
              : s === '-Infinity'
                ? -Infinity
                : /^\s*$/.test(s)
                  ? undefined
                  : Number(s);
        if (v !== undefined && Number.isNaN(v) && s !== 'NaN') v = undefined;
      }
      if (v === undefined) return fail();
      if (scalar === ScalarType.FLOAT && Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX)
        return { ok: false, expected: 'a number within the 32-bit float range' };
      return { ok: true, value: v };
    }
    default: {
      const range = INT_RANGES[scalar!]!;
      let n: bigint | undefined;
      if (node.type === 'number') {
        n = parseInteger(node.raw);
        if (n === undefined && json) {
          const f = Number(node.raw);
          if (Number.isInteger(f)) n = BigInt(f);
        }
      } else if (json && node.type === 'string') {
        n = parseInteger(String(node.value));
      }
      if (n === undefined) return fail();
      if (n < range[0] || n > range[1]) return fail();
      const is64 = range[1] > 2n ** 32n;
      return { ok: true, value: is64 ? n : Number(n) };
    }
  }
}
