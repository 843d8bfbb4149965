import { binaryLogLoss } from './log_loss';
import type { Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';

/** Mergeable state of normalized entropy: weighted sums of log loss and labels, and Σ w. */
export interface NormalizedEntropyState {
  loss: number;
  label: number;
  weight: number;
}

/**
 * Normalized entropy (He et al. 2014; torchrec `ne`): the weighted mean log loss divided by the
 * entropy of the weighted base rate p̄ = Σ w·y / Σ w. Below 1 means better than predicting p̄
 * for everyone. NaN when p̄ is 0 or 1.
 */
export class NormalizedEntropyMetric implements Metric<NormalizedEntropyState> {
  readonly name: string;
  private s: NormalizedEntropyState = { loss: 0, label: 0, weight: 0 };

  constructor(name = 'normalized_entropy') {
    this.name = name;
  }

  update(input: MetricInput): void {
    const n = checkMetricInput(this.name, input);
    const { preds, labels } = input;
    const w = input.weights ?? null;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      this.s.loss += wi * binaryLogLoss(preds[i], labels[i]);
      this.s.label += wi * labels[i];
      this.s.weight += wi;
    }
  }

  compute(): number {
    const { loss, label, weight } = this.s;
    if (!(weight > 0)) return NaN;
    const p = label / weight;
    if (p <= 0 || p >= 1) return NaN;
    const baseEntropy = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    return loss / weight / baseEntropy;
  }

  state(): NormalizedEntropyState {
    return { ...this.s };
  }

  merge(state: NormalizedEntropyState): void {
    this.s.loss += state.loss;
    this.s.label += state.label;
    this.s.weight += state.weight;
  }

  reset(): void {
    this.s = { loss: 0, label: 0, weight: 0 };
  }
}
