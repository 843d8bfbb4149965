import { type FusedLossAttrs, TSREC_L2_LOSS } from '@tsrec/native';

import { fusedLossReferenceKernel } from './fused_loss_reference';
import { l2LossKernel } from './l2_loss_kernel';

/** The TS reference kernel of TsrecL2Loss (l2_loss_kernel.ts). */
export const l2LossReferenceKernel = fusedLossReferenceKernel<FusedLossAttrs>(
  TSREC_L2_LOSS,
  'l2_loss',
  () => 1,
  (x, a, d) => l2LossKernel(x, a.labels, a.weights, d),
);
