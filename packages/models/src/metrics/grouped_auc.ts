import { argsortFloat32 } from './argsort';
import { aucOfSorted } from './auc';
import { GrowableFloat32 } from './growable';
import type { GroupKeys, Metric, MetricInput } from './metric';
import { checkMetricInput } from './metric_input_check';

/** A group key as stored. */
export type GroupKey = number | string | bigint;

/**
 * Grouped AUC as TorchEasyRec computes it: the AUC of each group (usually a user) that has
 * both a positive and a negative, averaged with equal weight per group. NaN when no group
 * qualifies. Sample weights, if given, weight pairs inside a group.
 */
export function groupedAuc(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: GroupKeys,
  weights?: ArrayLike<number> | null,
): number {
  checkMetricInput('grouped_auc', { preds: scores, labels, weights });
  checkGroups('grouped_auc', groups, scores.length);
  return groupedAucOf(Float32Array.from(scores), labels, Array.from(groups as ArrayLike<GroupKey>), weights ?? null)
    .auc;
}

/** Mean AUC over qualifying groups, and how many groups qualified. */
export function groupedAucOf(
  scores: Float32Array,
  labels: ArrayLike<number>,
  groups: ArrayLike<GroupKey>,
  weights: ArrayLike<number> | null,
): { auc: number; groups: number } {
  const n = scores.length;
  const ids = new Map<GroupKey, number>();
  const gid = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = groups[i];
    let g = ids.get(k);
    if (g === undefined) {
      g = ids.size;
      ids.set(k, g);
    }
    gid[i] = g;
  }
  const G = ids.size;
  // Sort by score once, then stable counting sort by group: each group's run stays score-sorted.
  const byScore = argsortFloat32(scores);
  const start = new Uint32Array(G + 1);
  for (let i = 0; i < n; i++) start[gid[i] + 1]++;
  for (let g = 0; g < G; g++) start[g + 1] += start[g];
  const fill = start.slice(0, G);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = byScore[i];
    order[fill[gid[k]]++] = k;
  }
  let sum = 0;
  let count = 0;
  for (let g = 0; g < G; g++) {
    const a = aucOfSorted(order, start[g], start[g + 1], scores, labels, weights);
    if (!Number.isNaN(a)) {
      sum += a;
      count++;
    }
  }
  return { auc: count > 0 ? sum / count : NaN, groups: count };
}

/** Mergeable state of a grouped AUC metric. */
export interface GroupedAucState {
  scores: Float32Array;
  labels: Float32Array;
  weights: Float32Array | null;
  groups: GroupKey[];
}

/**
 * Streaming grouped AUC (TorchEasyRec `grouped_auc`; the trainer passes the `grouping_key`
 * feature's values as `groups`). Merging concatenates samples, so a group split over workers
 * counts once, with all its samples.
 */
export class GroupedAucMetric implements Metric<GroupedAucState> {
  readonly name: string;
  private readonly scores = new GrowableFloat32();
  private readonly labels = new GrowableFloat32();
  private weights: GrowableFloat32 | null = null;
  private groups: GroupKey[] = [];

  constructor(name = 'grouped_auc') {
    this.name = name;
  }

  update(input: MetricInput): void {
    const n = checkMetricInput(this.name, input);
    if (input.groups == null)
      throw new TypeError(`Expected group keys (groups) for metric '${this.name}' but received ${input.groups}`);
    checkGroups(this.name, input.groups, n);
    this.append(input.preds, input.labels, input.weights ?? null, input.groups as ArrayLike<GroupKey>);
  }

  compute(): number {
    return groupedAucOf(this.scores.view(), this.labels.view(), this.groups, this.weights?.view() ?? null).auc;
  }

  state(): GroupedAucState {
    return {
      scores: this.scores.view().slice(),
      labels: this.labels.view().slice(),
      weights: this.weights?.view().slice() ?? null,
      groups: this.groups.slice(),
    };
  }

  merge(state: GroupedAucState): void {
    this.append(state.scores, state.labels, state.weights, state.groups);
  }

  reset(): void {
    this.scores.clear();
    this.labels.clear();
    this.weights = null;
    this.groups = [];
  }

  private append(
    scores: ArrayLike<number>,
    labels: ArrayLike<number>,
    weights: ArrayLike<number> | null,
    groups: ArrayLike<GroupKey>,
  ): void {
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
    for (let i = 0; i < groups.length; i++) this.groups.push(groups[i]);
  }
}

function checkGroups(metric: string, groups: GroupKeys, n: number): void {
  if (!groups || typeof groups.length !== 'number' || groups.length !== n) {
    throw new RangeError(
      `Expected ${n} group keys for metric '${metric}' (one per sample) but received ${groups == null ? groups : `length ${groups.length}`}`,
    );
  }
}
