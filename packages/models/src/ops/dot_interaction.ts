import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_DOT_INTERACTION } from '@tsrec/native';

import { interactionOp } from './interaction_op';

/**
 * DLRM dot interaction of [B, N, D] → [B, N(N−1)/2]: pairwise inner products, i < j row-major,
 * fused (the kernel TsrecDotInteraction of the active backend: kernels/dot_interaction_kernel.ts).
 */
export function dotInteraction(x: tf.Tensor): tf.Tensor2D {
  return interactionOp('dot_interaction', TSREC_DOT_INTERACTION, x);
}
