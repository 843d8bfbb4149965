import type { Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';

/** Mergeable state of recall@k: relevant items retrieved in the top k, and all relevant items. */
export interface RecallAtKState {
  hits: number;
  relevant: number;
}

/**
 * Recall@k for retrieval (TorchEasyRec `recall_at_k`): preds are [B, N] scores of N candidates
 * (`input.columns = N`), labels [B, N] 0/1 relevance; the value is Σ relevant items among each
 * row's k highest scores / Σ relevant items. Ties are broken by candidate index (stable top-k).
 */
export class RecallAtKMetric implements Metric<RecallAtKState> {
  readonly name: string;
  private s: RecallAtKState = { hits: 0, relevant: 0 };

  constructor(
    readonly topK = 5,
    name = 'recall_at_k',
  ) {
    if (!Number.isInteger(topK) || topK < 1)
      throw new RangeError(`Expected a positive integer for topK of metric '${name}' but received ${topK}`);
    this.name = name;
  }

  update(input: MetricInput): void {
    const N = input.columns;
    if (!Number.isInteger(N) || N! < 1)
      throw new RangeError(
        `Expected a positive integer for columns (candidates per row) of metric '${this.name}' but received ${N}`,
      );
    const B = checkMetricInput(this.name, input, N!, N!);
    const { preds, labels } = input;
    const k = Math.min(this.topK, N!);
    const order = new Uint32Array(N!);
    for (let b = 0; b < B; b++) {
      const row = b * N!;
      for (let j = 0; j < N!; j++) order[j] = j;
      order.sort((x, y) => preds[row + y] - preds[row + x] || x - y);
      for (let j = 0; j < N!; j++) if (labels[row + j] > 0.5) this.s.relevant++;
      for (let j = 0; j < k; j++) if (labels[row + order[j]] > 0.5) this.s.hits++;
    }
  }

  compute(): number {
    return this.s.relevant > 0 ? this.s.hits / this.s.relevant : NaN;
  }

  state(): RecallAtKState {
    return { ...this.s };
  }

  merge(state: RecallAtKState): void {
    this.s.hits += state.hits;
    this.s.relevant += state.relevant;
  }

  reset(): void {
    this.s = { hits: 0, relevant: 0 };
  }
}
