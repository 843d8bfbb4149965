import type * as tf from '@tensorflow/tfjs-core';

import { interactionKernels } from './interaction_kernels';
import { interactionOp } from './interaction_op';

/** DLRM dot interaction of [B, N, D] → [B, N(N−1)/2]: pairwise inner products, i < j row-major, fused. */
export function dotInteraction(x: tf.Tensor): tf.Tensor2D {
  return interactionOp(
    'dot_interaction',
    x,
    (N) => (N * (N - 1)) / 2,
    () => interactionKernels().dot,
  );
}
