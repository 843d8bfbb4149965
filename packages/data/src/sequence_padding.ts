import type { Batch } from './batch';

/**
 * Sequences leave the engine jagged (truncated to `sequence_length`, first elements kept); models
 * that need a rectangle pad them, as TorchEasyRec's sequence encoders do (jagged -> padded dense
 * of the sequence length). These helpers do that for one sequence feature of a batch.
 */

/** A sparse sequence feature as a [B, length] id matrix (row r: its first min(len, length) ids, then padId), with the kept lengths. */
export function padSparseSequence(
  batch: Batch,
  name: string,
  length: number,
  padId = 0,
): { ids: Int32Array; lengths: Int32Array } {
  checkLength(length, name);
  const kjb = batch.sparse;
  const f = kjb.indexOfKey(name);
  if (f < 0)
    throw new Error(`Expected a sparse feature named "${name}" in the batch but received keys ${kjb.keys.join(', ')}`);
  const B = batch.batchSize;
  const ids = new Int32Array(B * length).fill(padId);
  const lengths = new Int32Array(B);
  for (let r = 0; r < B; r++) {
    const s = kjb.offsets[f * B + r];
    const n = Math.min(kjb.offsets[f * B + r + 1] - s, length);
    ids.set(kjb.values.subarray(s, s + n), r * length);
    lengths[r] = n;
  }
  return { ids, lengths };
}

/** A dense sequence feature (batch.sequenceDense) as [B, length, dim] values padded with padValue, with the kept lengths. */
export function padDenseSequence(
  batch: Batch,
  name: string,
  length: number,
  padValue = 0,
): { values: Float32Array; lengths: Int32Array; dim: number } {
  checkLength(length, name);
  const sd = batch.sequenceDense[name];
  if (!sd)
    throw new Error(
      `Expected a dense sequence feature named "${name}" in the batch but received ${Object.keys(batch.sequenceDense).join(', ') || 'none'}`,
    );
  const B = batch.batchSize;
  const d = sd.dim;
  const values = new Float32Array(B * length * d).fill(padValue);
  const lengths = new Int32Array(B);
  let at = 0;
  for (let r = 0; r < B; r++) {
    const n = Math.min(sd.lengths[r], length);
    values.set(sd.values.subarray(at * d, (at + n) * d), r * length * d);
    lengths[r] = n;
    at += sd.lengths[r];
  }
  return { values, lengths, dim: d };
}

function checkLength(length: number, name: string): void {
  if (!Number.isInteger(length) || length < 1)
    throw new RangeError(`Expected a positive integer for the padded length of "${name}" but received ${length}`);
}
