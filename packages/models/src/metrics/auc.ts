import { argsortFloat32 } from './argsort';
import { GrowableFloat32 } from './growable';
import type { Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';

/**
 * Weighted ROC AUC over the samples `order[from..to)` (ascending by score): the weighted share
 * of (positive, negative) pairs ranked correctly, a tie counting one half — for unit weights
 * exactly the Mann–Whitney statistic with average ranks for ties. NaN without both classes.
 * A label > 0.5 is positive.
 */
export function aucOfSorted(
  order: Uint32Array,
  from: number,
  to: number,
  scores: Float32Array,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | null,
): number {
  let negBelow = 0;
  let posTotal = 0;
  let correct = 0;
  let i = from;
  while (i < to) {
    const s = scores[order[i]];
    let pos = 0;
    let neg = 0;
    // One run of tied scores: its positives beat every negative below and tie with its own.
    for (; i < to && scores[order[i]] === s; i++) {
      const k = order[i];
      const w = weights ? weights[k] : 1;
      if (labels[k] > 0.5) pos += w;
      else neg += w;
    }
    correct += pos * (negBelow + 0.5 * neg);
    negBelow += neg;
    posTotal += pos;
  }
  if (posTotal <= 0 || negBelow <= 0) return NaN;
  return correct / (posTotal * negBelow);
}

/** Exact (weighted) ROC AUC of probabilities or logits against 0/1 labels; ties count one half. */
export function exactAuc(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights?: ArrayLike<number> | null,
): number {
  checkMetricInput('auc', { preds: scores, labels, weights });
  const s = Float32Array.from(scores);
  return aucOfSorted(argsortFloat32(s), 0, s.length, s, labels, weights ?? null);
}

/** Mergeable state of an AUC metric: every sample seen (scores as float32). */
export interface AucState {
  scores: Float32Array;
  labels: Float32Array;
  /** null while every weight is 1. */
  weights: Float32Array | null;
}

/**
 * Exact streaming AUC (TorchEasyRec `auc`; tsrec ignores `thresholds` and sorts): keeps every
 * (score, label, weight), sorts once in `compute` (radix sort, O(n)). Merging concatenates, so
 * the merged value equals the AUC over all workers' samples.
 */
export class AucMetric implements Metric<AucState> {
  readonly name: string;
  private readonly scores = new GrowableFloat32();
  private readonly labels = new GrowableFloat32();
  private weights: GrowableFloat32 | null = null;

  constructor(name = 'auc') {
    this.name = name;
  }

  update(input: MetricInput): void {
    checkMetricInput(this.name, input);
    this.append(input.preds, input.labels, input.weights ?? null);
  }

  compute(): number {
    const s = this.scores.view();
    return aucOfSorted(argsortFloat32(s), 0, s.length, s, this.labels.view(), this.weights?.view() ?? null);
  }

  state(): AucState {
    return {
      scores: this.scores.view().slice(),
      labels: this.labels.view().slice(),
      weights: this.weights?.view().slice() ?? null,
    };
  }

  merge(state: AucState): void {
    this.append(state.scores, state.labels, state.weights);
  }

  reset(): void {
    this.scores.clear();
    this.labels.clear();
    this.weights = null;
  }

  private append(scores: ArrayLike<number>, labels: ArrayLike<number>, weights: ArrayLike<number> | null): void {
    if (weights && !this.weights) {
      this.weights = new GrowableFloat32();
      this.weights.fill(1, this.scores.length);
    }
    this.scores.push(scores);
    this.labels.push(labels);
    if (this.weights) {
      if (weights) this.weights.push(weights);
      else this.weights.fill(1, scores.length);
    }
  }
}
