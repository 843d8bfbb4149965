/**
 * Throws when an input of a fused op holds NaN or ±Infinity: a clear error at the op beats a
 * NaN loss discovered steps later. Names the op, the input, the flat index and the sample.
 */
export function checkFinite(op: string, input: string, values: ArrayLike<number>, width = 1): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is NaN exactly for NaN and ±Infinity; one comparison per element in the hot loop.
    if (v - v !== 0) {
      throw new RangeError(
        `Expected finite ${input} for ${op} but received ${v} at index ${i}${width > 1 ? ` (sample ${Math.floor(i / width)}, column ${i % width})` : ` (sample ${i})`}`,
      );
    }
  }
}
