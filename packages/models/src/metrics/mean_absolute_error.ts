import { WeightedMeanMetric } from './weighted_mean';

/** Weighted mean absolute error of regression predictions (TorchEasyRec `mean_absolute_error`). */
export class MeanAbsoluteErrorMetric extends WeightedMeanMetric {
  constructor(name = 'mean_absolute_error') {
    super(name, (p, y) => Math.abs(p - y));
  }
}
