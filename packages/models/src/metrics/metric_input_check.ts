import type { MetricInput } from './metric';

/** Checks a metric input's lengths and finiteness; `width` is the number of preds per sample. */
export function checkMetricInput(metric: string, input: MetricInput, width = 1, labelWidth = 1): number {
  const { preds, labels, weights } = input;
  if (!preds || typeof preds.length !== 'number')
    throw new TypeError(`Expected an array of numbers for preds of metric '${metric}' but received ${describe(preds)}`);
  if (!labels || typeof labels.length !== 'number')
    throw new TypeError(
      `Expected an array of numbers for labels of metric '${metric}' but received ${describe(labels)}`,
    );
  if (preds.length % width !== 0) {
    throw new RangeError(
      `Expected preds of metric '${metric}' to hold ${width} values per sample but received length ${preds.length}`,
    );
  }
  const n = preds.length / width;
  if (labels.length !== n * labelWidth) {
    throw new RangeError(
      `Expected ${n * labelWidth} labels for metric '${metric}' (${n} samples) but received ${labels.length}`,
    );
  }
  if (weights != null && weights.length !== n) {
    throw new RangeError(
      `Expected ${n} weights for metric '${metric}' (one per sample) but received ${weights.length}`,
    );
  }
  for (let i = 0; i < preds.length; i++) {
    if (!Number.isFinite(preds[i])) {
      throw new RangeError(
        `Expected finite preds for metric '${metric}' but received ${preds[i]} at index ${i} (sample ${Math.floor(i / width)})`,
      );
    }
  }
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isFinite(labels[i]))
      throw new RangeError(`Expected finite labels for metric '${metric}' but received ${labels[i]} at index ${i}`);
  }
  if (weights != null) {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(weights[i]) || weights[i] < 0) {
        throw new RangeError(
          `Expected finite non-negative weights for metric '${metric}' but received ${weights[i]} at sample ${i}`,
        );
      }
    }
  }
  return n;
}

function describe(v: unknown): string {
  return v === null ? 'null' : `${String(v)} of type ${typeof v}`;
}
