/**
 * Seeds of training-time randomness (dropout) that depend only on (layer seed, training
 * position, call), so a run resumed from a checkpoint draws the same masks as an uninterrupted
 * one. The trainer calls `setRandomPosition(batchesConsumed)` before each training batch; each
 * random layer call then takes the next seed of that position.
 */
let position = 0;
let calls = 0;

/** Starts the seed stream of one training batch (the trainer's count of consumed batches). */
export function setRandomPosition(batchIndex: number): void {
  position = batchIndex;
  calls = 0;
}

/** A 31-bit seed for the next random op of a layer seeded with `layerSeed`. */
export function nextRandomSeed(layerSeed: number): number {
  let h =
    Math.imul(layerSeed ^ 0x9e3779b9, 0x85ebca6b) ^
    Math.imul(position + 1, 0xc2b2ae35) ^
    Math.imul(++calls, 0x27d4eb2d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) & 0x7fffffff;
}
