import { addon, addonPath } from './addon';
import { invalidParameterError } from './errors';

/** What the addon was built with and what it found: BLAS, CUDA, threads. */
export interface BuildInfo {
  blas: string;
  cudaCompiled: boolean;
  cudaDevices: number;
  cudaDescription: string;
  threads: number;
  /** The compiler that built the addon, e.g. `g++ 12.2.0`. */
  compiler: string;
  /** CMake build type (Release, Debug, RelWithDebInfo). */
  buildType: string;
  /** Target flags of the CPU kernels, e.g. `-march=native` (empty: the compiler's default). */
  archFlags: string;
  /** CUDA architectures compiled (e.g. `80,90`), empty without CUDA. */
  cudaArchs: string;
  /** Whether the addon links Open MPI (multi-process training under mpirun). */
  mpiCompiled: boolean;
  /** The .node file loaded. */
  addonPath: string;
}

/** Build and runtime facts of the loaded addon. */
export function buildInfo(): BuildInfo {
  const info = addon().buildInfo();
  return { ...info, addonPath: addonPath() ?? '' };
}

/** Sets the native thread pool's size (0: hardware concurrency; env TSREC_NUM_THREADS sets the default). */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1024)
    throw invalidParameterError('threads', 'an integer in [0, 1024]', n);
  addon().setNumThreads(n);
}

/**
 * A zeroed Float32Array in native memory, 64-byte aligned (backed by huge pages when it is at
 * least 2 MiB), freed when garbage-collected. Pass it as `out.pooled` to
 * `EmbeddingCollection.forward`, reused across steps: aligned outputs are written with
 * streaming stores (dlrm26 forward ~25% faster than into a plain Float32Array).
 */
export function alignedFloat32Array(length: number): Float32Array {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > 2 ** 40) {
    throw invalidParameterError('length', 'an integer in [0, 2^40]', length);
  }
  return addon().allocFloat32(length);
}
