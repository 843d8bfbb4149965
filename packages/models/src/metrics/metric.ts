/** Group keys of grouped metrics (usually a user id): numbers, bigints or strings, one per sample. */
export type GroupKeys = ArrayLike<number> | BigInt64Array | readonly string[] | readonly bigint[];

/**
 * One batch of evaluation inputs. `preds` are probabilities for classification ([B] for binary,
 * [B, C] row-major for C classes) or values for regression; `labels` are 0/1 (binary), class
 * ids (multiclass), values (regression) or [B, N] 0/1 relevance (recall@k).
 */
export interface MetricInput {
  preds: ArrayLike<number>;
  labels: ArrayLike<number>;
  /** Per-sample weights (default 1). */
  weights?: ArrayLike<number> | null;
  /** Per-sample group keys (grouped AUC). */
  groups?: GroupKeys | null;
  /** Values of preds per sample when a metric takes a row per sample (recall@k: N candidates). */
  columns?: number;
}

/**
 * A streaming metric: `update` per batch, `compute` at the end. `state()` is a plain object of
 * numbers and typed arrays that another worker's metric of the same kind can `merge`, so an
 * evaluation split over workers gives the same value as one over all the data.
 */
export interface Metric<S = unknown> {
  /** TorchEasyRec name: `auc`, `auc_<tower>`, `grouped_auc`, `recall_at_k`, … */
  readonly name: string;
  update(input: MetricInput): void;
  compute(): number;
  state(): S;
  merge(state: S): void;
  reset(): void;
}
