import { type SoftmaxCrossEntropyAttrs, TSREC_SOFTMAX_CROSS_ENTROPY } from '@tsrec/native';

import { fusedLossReferenceKernel } from './fused_loss_reference';
import { softmaxCrossEntropyKernel } from './softmax_cross_entropy_kernel';

/** The TS reference kernel of TsrecSoftmaxCrossEntropy over logits [B, C] (softmax_cross_entropy_kernel.ts). */
export const softmaxCrossEntropyReferenceKernel = fusedLossReferenceKernel<SoftmaxCrossEntropyAttrs>(
  TSREC_SOFTMAX_CROSS_ENTROPY,
  'softmax_cross_entropy',
  (logits) => logits.shape[1],
  (x, a, d, shape) => softmaxCrossEntropyKernel(x, shape[1], a.labels, a.weights, a.labelSmoothing, d),
);
