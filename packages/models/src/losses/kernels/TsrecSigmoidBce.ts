import { type SigmoidBceAttrs, TSREC_SIGMOID_BCE } from '@tsrec/native';

import { fusedLossReferenceKernel } from './fused_loss_reference';
import { sigmoidBceKernel } from './sigmoid_bce_kernel';

/** The TS reference kernel of TsrecSigmoidBce (sigmoid_bce_kernel.ts). */
export const sigmoidBceReferenceKernel = fusedLossReferenceKernel<SigmoidBceAttrs>(
  TSREC_SIGMOID_BCE,
  'sigmoid_bce_with_logits',
  () => 1,
  (x, a, d) => sigmoidBceKernel(x, a.labels, a.weights, a.labelSmoothing, d),
);
