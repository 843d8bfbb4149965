import { TSREC_DOT_INTERACTION, TSREC_DOT_INTERACTION_GRAD } from '@tsrec/native';

import { dotInteractionKernel } from './dot_interaction_kernel';
import { interactionReferenceKernels } from './interaction_reference';

/** The TS reference kernels of TsrecDotInteraction and its backward (dot_interaction_kernel.ts). */
export const dotInteractionReferenceKernels = interactionReferenceKernels(
  TSREC_DOT_INTERACTION,
  TSREC_DOT_INTERACTION_GRAD,
  dotInteractionKernel,
  (N) => (N * (N - 1)) / 2,
);
