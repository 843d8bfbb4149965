/**
 * Numbers straight from bytes, without making strings: the dense columns of a CSV are most of
 * its bytes. Plain decimals (`-12`, `3.25`, `1e-3`) take the fast path; anything else (`inf`,
 * hex, 16+ significant digits) goes through `Number()` so results always equal JavaScript's.
 */

const ZERO = 48;
/** The largest finite 32-bit float. */
const F32_MAX = 3.4028234663852886e38;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Parses bytes[s, e) as a number; NaN when it is not one, or not finite as a 32-bit float
 * (`Infinity`, `1e400`, `1e39`), and for empty input.
 */
export function parseNumber(bytes: Uint8Array, s: number, e: number): number {
  let i = s;
  while (i < e && bytes[i] === 32) i++;
  while (e > i && bytes[e - 1] === 32) e--;
  if (i >= e) return NaN;
  let neg = false;
  const c0 = bytes[i];
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    i++;
  }
  let mant = 0;
  let digits = 0;
  let frac = 0;
  let any = false;
  while (i < e) {
    const d = bytes[i] - ZERO;
    if (d < 0 || d > 9) break;
    mant = mant * 10 + d;
    if (mant !== 0) digits++;
    any = true;
    i++;
  }
  if (i < e && bytes[i] === 46) {
    i++;
    while (i < e) {
      const d = bytes[i] - ZERO;
      if (d < 0 || d > 9) break;
      mant = mant * 10 + d;
      if (mant !== 0) digits++;
      frac++;
      any = true;
      i++;
    }
  }
  if (!any) return slow(bytes, s, e);
  let exp = 0;
  if (i < e && (bytes[i] === 101 || bytes[i] === 69)) {
    i++;
    let eneg = false;
    if (i < e && (bytes[i] === 45 || bytes[i] === 43)) {
      eneg = bytes[i] === 45;
      i++;
    }
    let ed = 0;
    while (i < e) {
      const d = bytes[i] - ZERO;
      if (d < 0 || d > 9) break;
      exp = exp * 10 + d;
      ed++;
      i++;
    }
    if (ed === 0) return NaN;
    if (eneg) exp = -exp;
  }
  if (i !== e) return slow(bytes, s, e);
  exp -= frac;
  // Exact when the mantissa and the power of ten are both exact doubles (one rounding).
  if (digits > 15 || exp < -22 || exp > 22) return slow(bytes, s, e);
  const v = exp >= 0 ? mant * POW10[exp] : mant / POW10[-exp];
  return neg ? -v : v;
}

function slow(bytes: Uint8Array, s: number, e: number): number {
  const t = Buffer.from(bytes.buffer, bytes.byteOffset + s, e - s)
    .toString('latin1')
    .trim();
  if (t === '') return NaN;
  const v = Number(t);
  // Values are float32 downstream: `Infinity`, `1e400` and `1e39` are not numbers a model can use.
  return Math.abs(v) <= F32_MAX ? v : NaN;
}

/** Parses bytes[s, e) as an integer (decimal, optional sign); NaN when it is not one. */
export function parseInteger(bytes: Uint8Array, s: number, e: number): number {
  let i = s;
  while (i < e && bytes[i] === 32) i++;
  while (e > i && bytes[e - 1] === 32) e--;
  if (i >= e) return NaN;
  let neg = false;
  if (bytes[i] === 45 || bytes[i] === 43) {
    neg = bytes[i] === 45;
    i++;
  }
  if (i >= e) return NaN;
  let v = 0;
  for (; i < e; i++) {
    const d = bytes[i] - ZERO;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}
