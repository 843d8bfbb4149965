import { copyRegisteredKernels, findBackendFactory, getKernel, registerBackend, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { kernelAddon } from './kernel_addon';
import { TSREC_KERNEL_CONFIGS } from './register_all_kernels';

/** Name of tsrec's tfjs backend. */
export const TSREC_BACKEND_NAME = 'tsrec';

/**
 * Registers the `tsrec` tfjs backend (idempotent): the cpu backend's storage (MathBackendCPU)
 * and kernels, with native overrides for TSREC_KERNEL_CONFIGS. The priority is 0, so tfjs's
 * default stays unchanged; choose it with selectBackend() or tf.setBackend('tsrec'). The addon
 * loads when the backend is first initialised, not at import.
 */
export function registerTsrecBackend(): void {
  if (findBackendFactory(TSREC_BACKEND_NAME)) return;
  registerBackend(
    TSREC_BACKEND_NAME,
    () => {
      const backend = new MathBackendCPU();
      // Skip the cpu backend's "install tfjs-node to speed things up" banner: tsrec is that speed-up.
      (backend as unknown as { firstUse: boolean }).firstUse = false;
      return backend;
    },
    0,
  );
  copyRegisteredKernels('cpu', TSREC_BACKEND_NAME);
  for (const config of TSREC_KERNEL_CONFIGS) {
    // Unregister the copied cpu kernel first: registerKernel warns when a name is taken.
    if (getKernel(config.kernelName, TSREC_BACKEND_NAME)) unregisterKernel(config.kernelName, TSREC_BACKEND_NAME);
    registerKernel({ ...config, backendName: TSREC_BACKEND_NAME, setupFunc: () => void kernelAddon() });
  }
}

/**
 * Sets how many threads OpenBLAS uses for the tsrec matmuls, once for all later calls (n <= 0
 * keeps the current setting); returns the number in use.
 */
export function setBlasThreads(n: number): number {
  return kernelAddon().setBlasThreads(n);
}

registerTsrecBackend();
