import { type BinaryFocalLossAttrs, TSREC_BINARY_FOCAL_LOSS } from '@tsrec/native';

import { binaryFocalLossKernel } from './binary_focal_loss_kernel';
import { fusedLossReferenceKernel } from './fused_loss_reference';

/** The TS reference kernel of TsrecBinaryFocalLoss (binary_focal_loss_kernel.ts). */
export const binaryFocalLossReferenceKernel = fusedLossReferenceKernel<BinaryFocalLossAttrs>(
  TSREC_BINARY_FOCAL_LOSS,
  'binary_focal_loss',
  () => 1,
  (x, a, d) => binaryFocalLossKernel(x, a.labels, a.weights, a.gamma, a.alpha, a.detachWeight, d),
);
