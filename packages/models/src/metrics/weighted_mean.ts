import type { Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';

/** Mergeable state of a weighted mean: Σ w·value and Σ w. */
export interface WeightedMeanState {
  sum: number;
  weight: number;
}

/**
 * A metric that is a weighted mean of a per-sample value (log loss, MSE, MAE, binary accuracy).
 * Sums are kept in float64, so merging worker states is exact up to rounding.
 */
export class WeightedMeanMetric implements Metric<WeightedMeanState> {
  readonly name: string;
  private sum = 0;
  private weight = 0;

  constructor(
    name: string,
    private readonly perSample: (pred: number, label: number) => number,
  ) {
    this.name = name;
  }

  update(input: MetricInput): void {
    const n = checkMetricInput(this.name, input);
    const { preds, labels } = input;
    const w = input.weights ?? null;
    let sum = 0;
    let weight = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      sum += wi * this.perSample(preds[i], labels[i]);
      weight += wi;
    }
    this.sum += sum;
    this.weight += weight;
  }

  compute(): number {
    return this.weight > 0 ? this.sum / this.weight : NaN;
  }

  state(): WeightedMeanState {
    return { sum: this.sum, weight: this.weight };
  }

  merge(state: WeightedMeanState): void {
    this.sum += state.sum;
    this.weight += state.weight;
  }

  reset(): void {
    this.sum = 0;
    this.weight = 0;
  }
}
