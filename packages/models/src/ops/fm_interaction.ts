import type * as tf from '@tensorflow/tfjs-core';

import { interactionKernels } from './interaction_kernels';
import { interactionOp } from './interaction_op';

/** FM second-order interaction of embeddings [B, N, D] → [B, D] (½((Σx)² − Σx²) per dim), fused. */
export function fmInteraction(x: tf.Tensor): tf.Tensor2D {
  return interactionOp('fm_interaction', x, (_N, D) => D, () => interactionKernels().fm);
}
