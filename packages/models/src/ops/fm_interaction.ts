import type * as tf from '@tensorflow/tfjs-core';
import { TSREC_FM_INTERACTION } from '@tsrec/native';

import { interactionOp } from './interaction_op';

/**
 * FM second-order interaction of embeddings [B, N, D] → [B, D] (½((Σx)² − Σx²) per dim), fused:
 * the kernel TsrecFmInteraction of the active backend each way (native on `tsrec`, the TS
 * reference kernels/fm_interaction_kernel.ts elsewhere).
 */
export function fmInteraction(x: tf.Tensor): tf.Tensor2D {
  return interactionOp('fm_interaction', TSREC_FM_INTERACTION, x);
}
