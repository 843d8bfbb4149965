import { engine, type GradConfig, type Tensor } from '@tensorflow/tfjs-core';

import { TSREC_FM_INTERACTION, TSREC_FM_INTERACTION_GRAD } from '../kernel_names';

/** Gradient of TsrecFmInteraction: the backward kernel of the active backend, given the saved x. */
export const tsrecFmInteractionGradConfig: GradConfig = {
  kernelName: TSREC_FM_INTERACTION,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    return { x: () => engine().runKernel(TSREC_FM_INTERACTION_GRAD, { x, dy: dy as Tensor }) as Tensor };
  },
};
