import type * as tf from '@tensorflow/tfjs-core';
import type { LossConfig } from '@tsrec/config';

import type { ModelBatch } from './model_context';

import { binaryFocalLoss } from '../losses/binary_focal_loss';
import { jrcLoss } from '../losses/jrc_loss';
import { l2Loss } from '../losses/l2_loss';
import { sigmoidBceWithLogits } from '../losses/sigmoid_bce_with_logits';
import { softmaxCrossEntropy } from '../losses/softmax_cross_entropy';

/**
 * The label values a loss accepts: BCE and focal loss a probability in [0, 1], softmax cross
 * entropy a class id in [0, num_class), l2 any finite number; `none` when the loss ignores the
 * label (DSSM's in-batch softmax). The data loader checks labels against these (a data error at
 * the label's file:line:column), so a label of 2 or 1e30 under BCE is never trained on silently.
 */
export type LabelRule =
  | { kind: 'probability'; loss: string }
  | { kind: 'class'; numClass: number; loss: string }
  | { kind: 'real'; loss: string }
  | { kind: 'none'; loss: string };

/** A configured loss: its TorchEasyRec name and a function of (output, labels, weights, the batch). */
export interface ModelLoss {
  name: string;
  /** True when the model's output is a regression value rather than logits. */
  regression: boolean;
  /** What its labels must be. */
  label: LabelRule;
  apply(output: tf.Tensor, labels: Float32Array, weights: Float32Array | null, batch?: ModelBatch): tf.Scalar;
}

/**
 * Each sample's session id for jrc_loss: the first id of sparse feature `name` (0 for an empty
 * bag), as TorchEasyRec's `to_padded_dense(1)[:, 0]`.
 */
export function sessionIdsOf(batch: ModelBatch | undefined, name: string): Int32Array {
  if (!batch) throw new Error(`Expected the batch for jrc_loss (session_name '${name}') but received none`);
  if (!batch.sparse.keys.includes(name))
    throw new Error(
      `Expected session_name '${name}' of jrc_loss to name a sparse feature of the batch (${batch.sparse.keys.join(', ')}) but it does not`,
    );
  const s = batch.sparse.select([name]).toSparseBatch();
  const out = new Int32Array(batch.batchSize);
  for (let b = 0; b < batch.batchSize; b++) {
    const from = Number(s.offsets[b]);
    out[b] = Number(s.offsets[b + 1]) > from ? Number(s.indices[from]) : 0;
  }
  return out;
}

/** Builds one loss of `model_config.losses`, named as TorchEasyRec (`binary_cross_entropy`, …) plus a suffix. */
export function createLoss(config: LossConfig, numClass: number, suffix = ''): ModelLoss {
  const l = config.loss;
  switch (l.case) {
    case 'binaryCrossEntropy':
      return {
        name: `binary_cross_entropy${suffix}`,
        regression: false,
        label: { kind: 'probability', loss: `binary_cross_entropy${suffix}` },
        apply: (x, y, w) => sigmoidBceWithLogits(x, y, { weights: w, labelSmoothing: l.value.labelSmoothing ?? 0 }),
      };
    case 'softmaxCrossEntropy':
      if (numClass < 2) throw new Error(`Expected num_class > 1 for softmax_cross_entropy but received ${numClass}`);
      return {
        name: `softmax_cross_entropy${suffix}`,
        regression: false,
        label: { kind: 'class', numClass, loss: `softmax_cross_entropy${suffix}` },
        apply: (x, y, w) => softmaxCrossEntropy(x, y, { weights: w, labelSmoothing: l.value.labelSmoothing ?? 0 }),
      };
    case 'l2Loss':
      return {
        name: `l2_loss${suffix}`,
        regression: true,
        label: { kind: 'real', loss: `l2_loss${suffix}` },
        apply: (x, y, w) => l2Loss(x, y, { weights: w }),
      };
    case 'binaryFocalLoss':
      return {
        name: `binary_focal_loss${suffix}`,
        regression: false,
        label: { kind: 'probability', loss: `binary_focal_loss${suffix}` },
        apply: (x, y, w) =>
          binaryFocalLoss(x, y, { weights: w, gamma: l.value.gamma ?? 2, alpha: l.value.alpha ?? 0.5 }),
      };
    case 'jrcLoss': {
      if (numClass !== 2) throw new Error(`Expected num_class 2 for jrc_loss but received ${numClass}`);
      const { sessionName, alpha } = l.value;
      return {
        name: `jrc_loss${suffix}`,
        regression: false,
        label: { kind: 'class', numClass: 2, loss: `jrc_loss${suffix}` },
        apply: (x, y, w, batch) => {
          if (w) throw new Error('jrc_loss with sample weights is not supported yet by tsrec');
          return jrcLoss(x, y, sessionIdsOf(batch, sessionName), { alpha: alpha ?? 0.5 });
        },
      };
    }
    case undefined:
      throw new Error(
        `Expected one loss (binary_cross_entropy, softmax_cross_entropy, l2_loss, binary_focal_loss, jrc_loss) in losses but received ${config.sidLoss.case ? `${config.sidLoss.case}, which is not supported yet` : 'an empty LossConfig'}`,
      );
  }
}

/** Every task's label rules, by label name (what the data loader checks; see LabelRule). */
export function labelRulesOf(
  tasks: readonly { labelName: string; losses: readonly ModelLoss[] }[],
): Record<string, LabelRule[]> {
  const out: Record<string, LabelRule[]> = {};
  for (const t of tasks)
    for (const l of t.losses) {
      if (l.label.kind === 'none') continue;
      out[t.labelName] ??= [];
      out[t.labelName].push(l.label);
    }
  return out;
}
