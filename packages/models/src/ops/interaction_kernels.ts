import { dotInteractionKernel } from './kernels/dot_interaction_kernel';
import { fmInteractionKernel } from './kernels/fm_interaction_kernel';

/** Forward/backward loops of an interaction over x [B, N, D]. */
export interface InteractionKernel {
  forward(x: Float32Array, B: number, N: number, D: number, out: Float32Array): void;
  backward(x: Float32Array, dOut: Float32Array, B: number, N: number, D: number, dx: Float32Array): void;
}

/** The interaction kernels the ops call; a native implementation can replace an entry. */
export interface InteractionKernels {
  fm: InteractionKernel;
  dot: InteractionKernel;
}

/** The pure-TS kernels (the references). */
export const TS_INTERACTION_KERNELS: Readonly<InteractionKernels> = Object.freeze({
  fm: fmInteractionKernel,
  dot: dotInteractionKernel,
});

let active: InteractionKernels = { ...TS_INTERACTION_KERNELS };

/** The kernels in use. */
export function interactionKernels(): Readonly<InteractionKernels> {
  return active;
}

/** Replaces some kernels; returns the previous table. */
export function setInteractionKernels(kernels: Partial<InteractionKernels>): InteractionKernels {
  const prev = active;
  active = { ...active, ...kernels };
  return prev;
}
