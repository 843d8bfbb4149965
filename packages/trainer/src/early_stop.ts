import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EasyRecConfig } from '@tsrec/config';

import { UsageError } from './usage_error';

/** The best evaluated checkpoint so far (export_config.best_exporter_metric). */
export interface BestCheckpoint {
  step: number;
  metric: string;
  value: number;
  path: string;
}

/** Outcome of one evaluation for early stopping. */
export interface StopDecision {
  stop: boolean;
  reason?: string;
}

const BEST_FILE = 'best_checkpoint.json';
const FUNCS = ['stop_if_no_increase', 'stop_if_no_decrease', 'stop_if_higher_than', 'stop_if_lower_than'] as const;
type StopFunc = (typeof FUNCS)[number];

/**
 * Best-checkpoint tracking and early stopping (export_config): the metric is
 * `best_exporter_metric` (default auc), larger is better unless `metric_larger_is_better` is
 * false. With `enable_early_stop`, training stops when `early_stop_func` says so:
 * - `stop_if_no_increase` (default when larger is better) / `stop_if_no_decrease` (default
 *   otherwise): no better value for `max_check_steps` steps since the best one;
 * - `stop_if_higher_than` / `stop_if_lower_than`: the metric crossed `early_stop_params`
 *   (`{"threshold": x}` or a bare number).
 * The best is kept in `model_dir/best_checkpoint.json` and never pruned by keep_checkpoint_max.
 */
export class EarlyStopper {
  best: BestCheckpoint | null = null;
  private readonly metric: string;
  private readonly larger: boolean;
  private readonly enabled: boolean;
  private readonly func: StopFunc;
  private readonly maxCheckSteps: number;
  private readonly threshold: number;

  constructor(
    config: EasyRecConfig,
    private readonly modelDir: string,
  ) {
    const ec = config.exportConfig;
    this.metric = ec?.bestExporterMetric || 'auc';
    this.larger = ec?.metricLargerIsBetter ?? true;
    this.enabled = ec?.enableEarlyStop ?? false;
    this.maxCheckSteps = ec?.maxCheckSteps ?? 10000;
    const func = ec?.earlyStopFunc || (this.larger ? 'stop_if_no_increase' : 'stop_if_no_decrease');
    if (!(FUNCS as readonly string[]).includes(func))
      throw new UsageError(
        `Expected one of ${FUNCS.join(', ')} for export_config.early_stop_func but received ${JSON.stringify(func)}`,
      );
    this.func = func as StopFunc;
    this.threshold = NaN;
    if (this.enabled && (this.func === 'stop_if_higher_than' || this.func === 'stop_if_lower_than')) {
      const raw = ec?.earlyStopParams ?? '';
      let t = Number(raw);
      if (raw.trim().startsWith('{')) {
        try {
          t = Number((JSON.parse(raw) as { threshold?: unknown }).threshold);
        } catch {
          t = NaN;
        }
      }
      if (!Number.isFinite(t))
        throw new UsageError(
          `Expected {"threshold": <number>} for export_config.early_stop_params of ${this.func} but received ${JSON.stringify(raw)}`,
        );
      this.threshold = t;
    }
    if (this.enabled && !(this.maxCheckSteps > 0))
      throw new UsageError(
        `Expected a number > 0 for export_config.max_check_steps but received ${this.maxCheckSteps}`,
      );
  }

  /** Reloads the best of a resumed model_dir. */
  restore(): void {
    const p = path.join(this.modelDir, BEST_FILE);
    if (fs.existsSync(p)) this.best = JSON.parse(fs.readFileSync(p, 'utf8')) as BestCheckpoint;
  }

  /** Steps whose checkpoints must be kept (the best). */
  protectedSteps(): Set<number> {
    return new Set(this.best ? [this.best.step] : []);
  }

  /** Records an evaluation; says whether to stop. */
  update(step: number, metrics: Record<string, number>, checkpointPath: string): StopDecision {
    const v = metrics[this.metric];
    if (v === undefined) {
      if (this.enabled)
        throw new UsageError(
          `Expected metric '${this.metric}' (export_config.best_exporter_metric) among the eval metrics ${Object.keys(metrics).join(', ')} but it is not there`,
        );
      return { stop: false };
    }
    if (Number.isFinite(v) && (!this.best || (this.larger ? v > this.best.value : v < this.best.value))) {
      this.best = { step, metric: this.metric, value: v, path: checkpointPath };
      const p = path.join(this.modelDir, BEST_FILE);
      fs.writeFileSync(`${p}.tmp`, `${JSON.stringify(this.best, null, 2)}\n`);
      fs.renameSync(`${p}.tmp`, p);
    }
    if (!this.enabled) return { stop: false };
    switch (this.func) {
      case 'stop_if_higher_than':
        return v > this.threshold
          ? { stop: true, reason: `${this.metric} ${v} > ${this.threshold} at step ${step}` }
          : { stop: false };
      case 'stop_if_lower_than':
        return v < this.threshold
          ? { stop: true, reason: `${this.metric} ${v} < ${this.threshold} at step ${step}` }
          : { stop: false };
      default: {
        const since = step - (this.best?.step ?? step);
        const word = this.func === 'stop_if_no_increase' ? 'increase' : 'decrease';
        return since >= this.maxCheckSteps
          ? {
              stop: true,
              reason: `no ${word} of ${this.metric} for ${since} steps (best ${this.best!.value} at step ${this.best!.step})`,
            }
          : { stop: false };
      }
    }
  }
}
