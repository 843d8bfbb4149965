import { WeightDecayMode, type SparseOptimizer } from '@tsrec/config';
import type { SparseOptimizerSpec } from '@tsrec/native';

import { createLearningRateSchedule, type LearningRateSchedule } from './lr_schedule';

/** The fused sparse optimizer of train_config.sparse_optimizer: the native spec, its base lr and its schedule. */
export interface SparseOptimizerSettings {
  spec: SparseOptimizerSpec;
  lr: number;
  schedule: LearningRateSchedule;
}

const WHERE = 'train_config.sparse_optimizer';

/**
 * Maps train_config.sparse_optimizer to the native collection's optimizer (FBGEMM's fused
 * optimizers, as TorchEasyRec configures them). `gradient_clipping` + `max_gradient` clamp
 * dL/dpooled element-wise; row-wise Adagrad's `eps`/`max_norm` are tsrec extensions.
 */
export function sparseOptimizerFromConfig(config: SparseOptimizer | undefined): SparseOptimizerSettings {
  if (!config?.optimizer.case)
    throw new Error(
      `Expected ${WHERE} with one of sgd_optimizer, adagrad_optimizer, adam_optimizer, rowwise_adagrad_optimizer but received none`,
    );
  const o = config.optimizer;
  const clip = (c: { gradientClipping: boolean; maxGradient: number }) => (c.gradientClipping ? c.maxGradient : 0);
  let spec: SparseOptimizerSpec;
  switch (o.case) {
    case 'sgdOptimizer':
      spec = { type: 'sgd', maxGradient: clip(o.value) };
      break;
    case 'adagradOptimizer':
      spec = { type: 'adagrad', maxGradient: clip(o.value) };
      break;
    case 'adamOptimizer':
      spec = {
        type: 'adam',
        beta1: o.value.beta1,
        beta2: o.value.beta2,
        weightDecay: o.value.weightDecay,
        weightDecayMode: o.value.weightDecay ? 'l2' : 'none',
        maxGradient: clip(o.value),
      };
      break;
    case 'rowwiseAdagradOptimizer': {
      const v = o.value;
      const mode =
        v.weightDecayMode === WeightDecayMode.L2
          ? 'l2'
          : v.weightDecayMode === WeightDecayMode.DECOUPLE
            ? 'decouple'
            : 'none';
      spec = {
        type: 'rowwise_adagrad',
        eps: v.eps,
        weightDecay: v.weightDecay,
        weightDecayMode: mode,
        maxGradient: clip(v),
        maxNorm: v.maxNorm,
      };
      break;
    }
    default: {
      const name = o.case.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      throw new Error(
        `${WHERE}.${name} is not supported yet (sgd_optimizer, adagrad_optimizer, adam_optimizer and rowwise_adagrad_optimizer are); change it in the config`,
      );
    }
  }
  const lr = o.value.lr;
  if (!Number.isFinite(lr) || lr < 0)
    throw new Error(`Expected a finite number >= 0 for ${WHERE}.lr but received ${lr}`);
  return { spec, lr, schedule: createLearningRateSchedule(config.learningRate, lr, WHERE) };
}
