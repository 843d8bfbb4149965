import { addon } from './addon';
import { invalidParameterError, nativeError } from './errors';

function tag(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/** The native copy (native/src/cpu/copy_kernels.cc `CopyColumnRuns`). */
interface ColumnRunsAddon {
  copyColumnRuns(
    src: Float32Array,
    srcOffset: number,
    srcStride: number,
    dst: Float32Array,
    dstOffset: number,
    dstStride: number,
    rows: number,
    runs: Int32Array,
    scale: number,
  ): void;
}

/**
 * Copies runs of columns between two row-major float arrays: for each of `rows` rows r and each
 * run k (runs = [srcCol, dstCol, len, add] × K), dst[dstOffset + r·dstStride + dstCol + j] is set
 * (add 0) or increased (add 1) by scale × src[srcOffset + r·srcStride + srcCol + j], j < len — the
 * gathers and scatters of pooled columns between ranks, as memcpy's instead of a JS loop per value.
 * Arithmetic as JavaScript's on a Float32Array (in double, rounded once). An index outside either
 * array is a RangeError (nothing is copied).
 */
export function copyColumnRuns(
  src: Float32Array,
  srcOffset: number,
  srcStride: number,
  dst: Float32Array,
  dstOffset: number,
  dstStride: number,
  rows: number,
  runs: Int32Array,
  scale = 1,
): void {
  if (tag(src) !== 'Float32Array') throw invalidParameterError('src', 'a Float32Array', src);
  if (tag(dst) !== 'Float32Array') throw invalidParameterError('dst', 'a Float32Array', dst);
  if (tag(runs) !== 'Int32Array' || runs.length % 4 !== 0)
    throw invalidParameterError('runs', 'an Int32Array of [srcCol, dstCol, len, add] quadruples', runs);
  for (const [name, v] of Object.entries({ srcOffset, srcStride, dstOffset, dstStride, rows }))
    if (!Number.isSafeInteger(v) || v < 0) throw invalidParameterError(name, 'an integer >= 0', v);
  if (typeof scale !== 'number' || !Number.isFinite(scale))
    throw invalidParameterError('scale', 'a finite number', scale);
  const stack = new Error();
  try {
    (addon() as unknown as ColumnRunsAddon).copyColumnRuns(
      src,
      srcOffset,
      srcStride,
      dst,
      dstOffset,
      dstStride,
      rows,
      runs,
      scale,
    );
  } catch (e) {
    throw nativeError(e, stack);
  }
}
