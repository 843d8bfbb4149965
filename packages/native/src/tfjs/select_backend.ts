import { getBackend, setBackend } from '@tensorflow/tfjs-core';

import { invalidParameterError } from '../errors';
import { registerTsrecBackend, TSREC_BACKEND_NAME } from './backend';

/** Options of selectBackend. */
export interface SelectBackendOptions {
  /** A tfjs backend name ('tsrec', 'cpu', 'wasm', 'tensorflow'); wins over the environment. */
  backend?: string;
  /** Environment to read TSREC_TFJS_BACKEND from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Module loader used to probe optional backends (default require; tests inject one). */
  requireFn?: (id: string) => unknown;
}

/** Optional packages that bring libtensorflow's backend ('tensorflow'), in order of preference. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

function tryRequire(requireFn: (id: string) => unknown, id: string): boolean {
  try {
    requireFn(id);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chooses and activates the tfjs backend: an explicit name (option, then TSREC_TFJS_BACKEND);
 * else libtensorflow's backend when @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node loads;
 * else `tsrec`. Resolves to the name now active.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<string> {
  const requireFn = options.requireFn ?? ((id: string) => require(id));
  const env = options.env ?? process.env;
  registerTsrecBackend();
  const fromEnv = env.TSREC_TFJS_BACKEND;
  const explicit = options.backend ?? (fromEnv === '' ? undefined : fromEnv);
  let name: string;
  const source = options.backend !== undefined ? 'backend' : 'TSREC_TFJS_BACKEND';
  if (explicit !== undefined) {
    name = explicit;
    if (name === 'wasm') tryRequire(requireFn, '@tensorflow/tfjs-backend-wasm');
    if (name === 'tensorflow') TFJS_NODE_PACKAGES.some((p) => tryRequire(requireFn, p));
  } else {
    name = TFJS_NODE_PACKAGES.some((p) => tryRequire(requireFn, p)) ? 'tensorflow' : TSREC_BACKEND_NAME;
  }
  let ok = false;
  try {
    ok = await setBackend(name);
  } catch {
    ok = false;
  }
  if (!ok || getBackend() !== name) {
    throw invalidParameterError(
      source,
      "a tfjs backend that loads ('tsrec', 'cpu', 'wasm' or 'tensorflow' with @tensorflow/tfjs-node installed)",
      name,
    );
  }
  return name;
}
