/** Evaluation metrics with TorchEasyRec's names: exact, streaming and mergeable across workers. */
export type { GroupKeys, Metric, MetricInput } from './metric';
export { argsortFloat32 } from './argsort';
export { AucMetric, aucOfSorted, exactAuc, type AucState } from './auc';
export { GroupedAucMetric, groupedAuc, type GroupedAucState, type GroupKey } from './grouped_auc';
export { MulticlassAucMetric, multiclassAuc, type MulticlassAucState, type MulticlassAverage } from './multiclass_auc';
export { WeightedMeanMetric, type WeightedMeanState } from './weighted_mean';
export { LogLossMetric, binaryLogLoss, LOG_LOSS_EPS } from './log_loss';
export { MeanSquaredErrorMetric } from './mean_squared_error';
export { MeanAbsoluteErrorMetric } from './mean_absolute_error';
export { AccuracyMetric, type AccuracyOptions } from './accuracy';
export { RecallAtKMetric, type RecallAtKState } from './recall_at_k';
export { NormalizedEntropyMetric, type NormalizedEntropyState } from './normalized_entropy';
export { createMetric, type ConfiguredMetric, type CreateMetricOptions } from './create_metric';
