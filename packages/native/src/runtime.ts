import { addon } from './addon';
import { invalidParameterError } from './errors';

/** What the addon was built with and what it found: BLAS, CUDA, threads. */
export interface BuildInfo {
  blas: string;
  cudaCompiled: boolean;
  cudaDevices: number;
  cudaDescription: string;
  threads: number;
}

/** Build and runtime facts of the loaded addon. */
export function buildInfo(): BuildInfo {
  return addon().buildInfo();
}

/** Sets the native thread pool's size (0: hardware concurrency; env TSREC_NUM_THREADS sets the default). */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1024) throw invalidParameterError('threads', 'an integer in [0, 1024]', n);
  addon().setNumThreads(n);
}
