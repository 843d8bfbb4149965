import { WeightedMeanMetric } from './weighted_mean';

/** Weighted mean squared error of regression predictions (TorchEasyRec `mean_squared_error`). */
export class MeanSquaredErrorMetric extends WeightedMeanMetric {
  constructor(name = 'mean_squared_error') {
    super(name, (p, y) => (p - y) * (p - y));
  }
}
