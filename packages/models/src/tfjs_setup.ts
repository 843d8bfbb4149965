import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsGradients } from '@tsrec/native';

/**
 * Readies tfjs for training: registers tfjs-core's gradients (tfjs-core alone registers none;
 * @tsrec/native bundles `register_all_gradients` for CommonJS) and makes `backendName` the
 * active backend — `cpu` in tests, `tsrec` (native kernels, registered by @tsrec/native) for
 * speed. Model code never names a backend itself.
 */
export async function setUpTfjs(backendName = 'cpu'): Promise<void> {
  registerTfjsGradients();
  const ok = await tf.setBackend(backendName);
  if (!ok || tf.getBackend() !== backendName) {
    throw new Error(
      `Expected a registered tfjs backend for backendName but received '${backendName}' (registered: ${Object.keys(tf.engine().registryFactory).join(', ')})`,
    );
  }
  // The cpu backend's first write prints "install tfjs-node"; tsrec's own backend is that speed-up.
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (backend.firstUse) backend.firstUse = false;
}
