import type * as tf from '@tensorflow/tfjs-core';
import { fmInteractionTsrec, isTsrecBackend } from '@tsrec/native';

import { interactionKernels, TS_INTERACTION_KERNELS } from './interaction_kernels';
import { checkInteractionInput, interactionOp } from './interaction_op';

/**
 * FM second-order interaction of embeddings [B, N, D] → [B, D] (½((Σx)² − Σx²) per dim), fused:
 * on the `tsrec` backend one native kernel each way (@tsrec/native `fmInteractionTsrec`), on
 * other backends (or when `setInteractionKernels` replaced `fm`) the TS kernel.
 */
export function fmInteraction(x: tf.Tensor): tf.Tensor2D {
  if (isTsrecBackend() && interactionKernels().fm === TS_INTERACTION_KERNELS.fm) {
    checkInteractionInput('fm_interaction', x);
    return fmInteractionTsrec(x);
  }
  return interactionOp(
    'fm_interaction',
    x,
    (_N, D) => D,
    () => interactionKernels().fm,
  );
}
