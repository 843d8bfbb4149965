import { argsortFloat32 } from './argsort';
import { aucOfSorted } from './auc';
import { GrowableFloat32 } from './growable';
import type { Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';

/** How per-class AUCs are averaged: equally (`macro`) or by each class's positive weight. */
export type MulticlassAverage = 'macro' | 'weighted';

/**
 * One-vs-rest AUC of class probabilities [n, C] against class ids, averaged over the classes
 * that have both positives and negatives (a class never seen cannot be ranked).
 */
export function multiclassAuc(
  preds: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
  weights?: ArrayLike<number> | null,
  average: MulticlassAverage = 'macro',
): number {
  const C = numClasses;
  const n = checkMetricInput('multiclass_auc', { preds, labels, weights }, C);
  checkClassIds('multiclass_auc', labels, C);
  const scores = new Float32Array(n);
  const isClass = new Float32Array(n);
  let sum = 0;
  let norm = 0;
  for (let c = 0; c < C; c++) {
    let support = 0;
    for (let i = 0; i < n; i++) {
      scores[i] = preds[i * C + c];
      isClass[i] = labels[i] === c ? 1 : 0;
      if (labels[i] === c) support += weights ? weights[i] : 1;
    }
    const a = aucOfSorted(argsortFloat32(scores), 0, n, scores, isClass, weights ?? null);
    if (Number.isNaN(a)) continue;
    const wc = average === 'weighted' ? support : 1;
    sum += wc * a;
    norm += wc;
  }
  return norm > 0 ? sum / norm : NaN;
}

function checkClassIds(metric: string, labels: ArrayLike<number>, C: number): void {
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= C)
      throw new RangeError(
        `Expected a class id in [0, ${C}) for labels of metric '${metric}' but received ${c} at sample ${i}`,
      );
  }
}

/** Mergeable state of a multiclass AUC metric: every sample's class probabilities. */
export interface MulticlassAucState {
  preds: Float32Array;
  labels: Float32Array;
  weights: Float32Array | null;
}

/** Streaming one-vs-rest multiclass AUC (TorchEasyRec `multiclass_auc`, exact). */
export class MulticlassAucMetric implements Metric<MulticlassAucState> {
  readonly name: string;
  private readonly preds = new GrowableFloat32();
  private readonly labels = new GrowableFloat32();
  private weights: GrowableFloat32 | null = null;

  constructor(
    readonly numClasses: number,
    name = 'multiclass_auc',
    readonly average: MulticlassAverage = 'macro',
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 2)
      throw new RangeError(`Expected an integer >= 2 for numClasses of metric '${name}' but received ${numClasses}`);
    this.name = name;
  }

  update(input: MetricInput): void {
    checkMetricInput(this.name, input, this.numClasses);
    checkClassIds(this.name, input.labels, this.numClasses);
    this.append(input.preds, input.labels, input.weights ?? null);
  }

  compute(): number {
    return multiclassAuc(
      this.preds.view(),
      this.labels.view(),
      this.numClasses,
      this.weights?.view() ?? null,
      this.average,
    );
  }

  state(): MulticlassAucState {
    return {
      preds: this.preds.view().slice(),
      labels: this.labels.view().slice(),
      weights: this.weights?.view().slice() ?? null,
    };
  }

  merge(state: MulticlassAucState): void {
    this.append(state.preds, state.labels, state.weights);
  }

  reset(): void {
    this.preds.clear();
    this.labels.clear();
    this.weights = null;
  }

  private append(preds: ArrayLike<number>, labels: ArrayLike<number>, weights: ArrayLike<number> | null): void {
    if (weights && !this.weights) {
      this.weights = new GrowableFloat32();
      this.weights.fill(1, this.labels.length);
    }
    this.preds.push(preds);
    this.labels.push(labels);
    if (this.weights) {
      if (weights) this.weights.push(weights);
      else this.weights.fill(1, labels.length);
    }
  }
}
