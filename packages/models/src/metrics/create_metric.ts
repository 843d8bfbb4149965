import type { MetricConfig } from '@tsrec/config';

import { AccuracyMetric } from './accuracy';
import { AucMetric } from './auc';
import { GroupedAucMetric } from './grouped_auc';
import { MeanAbsoluteErrorMetric } from './mean_absolute_error';
import { MeanSquaredErrorMetric } from './mean_squared_error';
import type { Metric } from './metric';
import { MulticlassAucMetric, type MulticlassAverage } from './multiclass_auc';
import { NormalizedEntropyMetric } from './normalized_entropy';
import { RecallAtKMetric } from './recall_at_k';

/** TorchEasyRec's metric type names (the `MetricConfig` oneof field names). */
const TYPE_NAMES: Record<string, string> = {
  auc: 'auc',
  multiclassAuc: 'multiclass_auc',
  recallAtK: 'recall_at_k',
  meanAbsoluteError: 'mean_absolute_error',
  meanSquaredError: 'mean_squared_error',
  accuracy: 'accuracy',
  groupedAuc: 'grouped_auc',
  xauc: 'xauc',
  groupedXauc: 'grouped_xauc',
  normalizedEntropy: 'normalized_entropy',
};

/** Options of `createMetric`. */
export interface CreateMetricOptions {
  /** The model's num_class (1: binary or regression). */
  numClass?: number;
  /** Appended to the name, as TorchEasyRec does for towers: `_ctr` gives `auc_ctr`. */
  suffix?: string;
}

/** A metric built from config, with the sample grouping it needs (grouped AUC). */
export interface ConfiguredMetric {
  metric: Metric;
  /** Feature whose values are the groups (`grouped_auc.grouping_key`), if any. */
  groupingKey?: string;
}

/**
 * Builds the metric of one `MetricConfig`, named as TorchEasyRec names it: the metric type
 * plus the tower suffix (`auc`, `auc_ctr`, `grouped_auc`, `recall_at_k`, …).
 */
export function createMetric(config: MetricConfig, options: CreateMetricOptions = {}): ConfiguredMetric {
  const m = config.metric;
  if (m.case === undefined)
    throw new Error('Expected one metric (auc, grouped_auc, …) in metrics but received an empty MetricConfig');
  const name = (TYPE_NAMES[m.case] ?? m.case) + (options.suffix ?? '');
  const numClass = options.numClass ?? 1;
  switch (m.case) {
    case 'auc':
      return { metric: new AucMetric(name) };
    case 'multiclassAuc':
      return { metric: new MulticlassAucMetric(numClass, name, (m.value.average || 'macro') as MulticlassAverage) };
    case 'recallAtK':
      return { metric: new RecallAtKMetric(m.value.topK ?? 5, name) };
    case 'meanAbsoluteError':
      return { metric: new MeanAbsoluteErrorMetric(name) };
    case 'meanSquaredError':
      return { metric: new MeanSquaredErrorMetric(name) };
    case 'accuracy':
      return {
        metric: new AccuracyMetric(name, {
          threshold: m.value.threshold ?? 0.5,
          topK: m.value.topK ?? 1,
          numClasses: numClass,
        }),
      };
    case 'groupedAuc':
      if (!m.value.groupingKey)
        throw new Error(
          `Expected a feature name for grouped_auc.grouping_key of metric '${name}' but received '${m.value.groupingKey ?? ''}'`,
        );
      return { metric: new GroupedAucMetric(name), groupingKey: m.value.groupingKey };
    case 'normalizedEntropy':
      return { metric: new NormalizedEntropyMetric(name) };
    default:
      throw new Error(
        `metric '${name}' is not supported yet (supported: auc, multiclass_auc, recall_at_k, mean_absolute_error, mean_squared_error, accuracy, grouped_auc, normalized_entropy)`,
      );
  }
}
