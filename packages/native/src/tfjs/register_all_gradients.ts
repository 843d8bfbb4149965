import { type GradConfig, getGradient, registerGradient } from '@tensorflow/tfjs-core';

import { tsrecDotInteractionGradConfig } from './gradients/TsrecDotInteraction_grad';
import { tsrecFmInteractionGradConfig } from './gradients/TsrecFmInteraction_grad';

/**
 * Gradients of tsrec's fused-op kernels (kernel_names.ts) that are GradConfigs: each runs the
 * backward kernel by name, so every backend computes it with its own kernel. (The dense and loss
 * ops wrap their kernels in a customGrad instead.) Adding one: write gradients/<Kernel>_grad.ts,
 * then list it here.
 */
export const TSREC_GRAD_CONFIGS: readonly GradConfig[] = [tsrecFmInteractionGradConfig, tsrecDotInteractionGradConfig];

/**
 * Registers TSREC_GRAD_CONFIGS (idempotent). Runs when @tsrec/native loads, and again from
 * registerTfjsGradients(); independent of tfjs-core's own gradients.
 */
export function registerTsrecGradients(): void {
  for (const config of TSREC_GRAD_CONFIGS) if (!getGradient(config.kernelName)) registerGradient(config);
}

registerTsrecGradients();
