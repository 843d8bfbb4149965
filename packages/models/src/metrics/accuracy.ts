import type { Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';
import type { WeightedMeanState } from './weighted_mean';

/** Options of `AccuracyMetric`. */
export interface AccuracyOptions {
  /** Binary: a probability ≥ threshold predicts 1 (default 0.5). */
  threshold?: number;
  /** Multiclass: correct when the label is among the k highest scores (default 1). */
  topK?: number;
  /** 1 (default) for binary preds [B]; C > 1 for class probabilities [B, C]. */
  numClasses?: number;
}

/**
 * Weighted accuracy (TorchEasyRec `accuracy`). Multiclass ties are broken by class index, as
 * a stable top-k does: class j outranks the label class c when s_j > s_c, or s_j = s_c and j < c.
 */
export class AccuracyMetric implements Metric<WeightedMeanState> {
  readonly name: string;
  private readonly threshold: number;
  private readonly topK: number;
  private readonly numClasses: number;
  private s: WeightedMeanState = { sum: 0, weight: 0 };

  constructor(name = 'accuracy', options: AccuracyOptions = {}) {
    this.name = name;
    this.threshold = options.threshold ?? 0.5;
    this.topK = options.topK ?? 1;
    this.numClasses = options.numClasses ?? 1;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 1) {
      throw new RangeError(
        `Expected a positive integer for numClasses of metric '${name}' but received ${options.numClasses}`,
      );
    }
    if (!Number.isInteger(this.topK) || this.topK < 1)
      throw new RangeError(`Expected a positive integer for topK of metric '${name}' but received ${options.topK}`);
  }

  update(input: MetricInput): void {
    const C = this.numClasses;
    const n = checkMetricInput(this.name, input, C);
    const { preds, labels } = input;
    const w = input.weights ?? null;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      let correct: boolean;
      if (C === 1) {
        correct = preds[i] >= this.threshold === labels[i] > 0.5;
      } else {
        const c = labels[i];
        if (!Number.isInteger(c) || c < 0 || c >= C) {
          throw new RangeError(
            `Expected a class id in [0, ${C}) for labels of metric '${this.name}' but received ${c} at sample ${i}`,
          );
        }
        const sc = preds[i * C + c];
        let above = 0;
        for (let j = 0; j < C; j++) {
          const sj = preds[i * C + j];
          if (sj > sc || (sj === sc && j < c)) above++;
        }
        correct = above < this.topK;
      }
      if (correct) this.s.sum += wi;
      this.s.weight += wi;
    }
  }

  compute(): number {
    return this.s.weight > 0 ? this.s.sum / this.s.weight : NaN;
  }

  state(): WeightedMeanState {
    return { ...this.s };
  }

  merge(state: WeightedMeanState): void {
    this.s.sum += state.sum;
    this.s.weight += state.weight;
  }

  reset(): void {
    this.s = { sum: 0, weight: 0 };
  }
}
