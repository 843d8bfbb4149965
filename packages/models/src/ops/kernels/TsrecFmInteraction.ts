import { TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD } from '@tsrec/native';

import { fmInteractionKernel } from './fm_interaction_kernel';
import { interactionReferenceKernels } from './interaction_reference';

/** The TS reference kernels of TsrecFmInteraction and its backward (fm_interaction_kernel.ts). */
export const fmInteractionReferenceKernels = interactionReferenceKernels(
  TSREC_FM_INTERACTION,
  TSREC_FM_INTERACTION_GRAD,
  fmInteractionKernel,
  (_N, D) => D,
);
