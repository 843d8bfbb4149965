import { engine, type GradConfig, type Tensor } from '@tensorflow/tfjs-core';

import { TSREC_DOT_INTERACTION, TSREC_DOT_INTERACTION_GRAD } from '../kernel_names';

/** Gradient of TsrecDotInteraction: the backward kernel of the active backend, given the saved x. */
export const tsrecDotInteractionGradConfig: GradConfig = {
  kernelName: TSREC_DOT_INTERACTION,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    return { x: () => engine().runKernel(TSREC_DOT_INTERACTION_GRAD, { x, dy: dy as Tensor }) as Tensor };
  },
};
