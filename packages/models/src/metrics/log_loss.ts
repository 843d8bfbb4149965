import { WeightedMeanMetric } from './weighted_mean';

/** Probabilities are clipped to [eps, 1 - eps] (float32 machine epsilon, as scikit-learn does). */
export const LOG_LOSS_EPS = 1.1920929e-7;

/** Binary cross-entropy of one probability against a label in [0, 1], clipped. */
export function binaryLogLoss(p: number, y: number): number {
  const q = Math.min(Math.max(p, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
}

/** Weighted mean binary log loss of probabilities (`log_loss`). */
export class LogLossMetric extends WeightedMeanMetric {
  constructor(name = 'log_loss') {
    super(name, binaryLogLoss);
  }
}
