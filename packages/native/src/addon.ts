import * as fs from 'node:fs';
import * as path from 'node:path';

/** The raw addon surface (binding layer: converts only; callers validate). */
export interface NativeAddon {
  buildInfo(): {
    blas: string;
    cudaCompiled: boolean;
    cudaDevices: number;
    cudaDescription: string;
    threads: number;
    compiler: string;
    buildType: string;
    archFlags: string;
    cudaArchs: string;
    mpiCompiled: boolean;
  };
  setNumThreads(n: number): void;
  allocFloat32(n: number): Float32Array;
  NativeEmbeddingCollection: new (spec: unknown) => NativeEmbeddingCollectionHandle;
  [key: string]: unknown;
}

/** Methods of the native collection object (see native/binding/embedding_collection_binding.cc). */
export interface NativeEmbeddingCollectionHandle {
  forward(
    i: Int32Array | BigInt64Array,
    o: Int32Array | BigInt64Array,
    w: Float32Array | null,
    b: number,
    pooled: Float32Array | Float32Array[],
    seq: Float32Array | null,
  ): void;
  backwardAndUpdate(
    i: Int32Array | BigInt64Array,
    o: Int32Array | BigInt64Array,
    w: Float32Array | null,
    b: number,
    gp: Float32Array | Float32Array[],
    gs: Float32Array | null,
    lr: number,
  ): void;
  forwardReference(
    i: Int32Array | BigInt64Array,
    o: Int32Array | BigInt64Array,
    w: Float32Array | null,
    b: number,
    pooled: Float32Array | Float32Array[],
    seq: Float32Array | null,
  ): void;
  backwardReference(
    i: Int32Array | BigInt64Array,
    o: Int32Array | BigInt64Array,
    w: Float32Array | null,
    b: number,
    gp: Float32Array | Float32Array[],
    gs: Float32Array | null,
    lr: number,
  ): void;
  /** Seconds; mode 0 = index_select copy, 1 = read-only sweep (see native/src/cpu/gather_probe.cc). */
  gatherProbe(i: Int32Array | BigInt64Array, o: Int32Array | BigInt64Array, w: null, b: number, mode: 0 | 1): number;
  readRows(t: number, which: number, start: number, count: number, out: Float32Array): void;
  writeRows(t: number, which: number, start: number, count: number, src: Float32Array): void;
  view(t: number, which: number): Float32Array;
  tableBytes(t: number): number;
  getStep(): number;
  setStep(s: number): void;
  info(): { pooledDim: number; pooledDims: number[]; numStates: number; hugePages: boolean[] };
  dispose(): void;
}

/** Where the addon may be, in order: the cmake-js build of this package, then an override. */
export function addonCandidates(): string[] {
  const list = [path.join(__dirname, '..', 'build', 'Release', 'tsrec_native.node')];
  if (process.env.TSREC_NATIVE_ADDON) list.unshift(process.env.TSREC_NATIVE_ADDON);
  return list;
}

function cpuHasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Loads the first candidate that works; otherwise throws one message listing every attempt and
 * the fixes (after sharp's lib/sharp.mjs).
 */
export function loadAddon(candidates: string[] = addonCandidates()): NativeAddon {
  // OpenBLAS reads this when it is loaded; its AVX-512 kernels measured 2x faster here.
  if (!process.env.OPENBLAS_CORETYPE && cpuHasAvx512()) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  // OpenBLAS's idle threads spin (sched_yield) for 2^28 cycles after each GEMM by default,
  // taking a core from the TBE pool and the data workers between GEMMs; 2^4 makes them sleep at
  // once (measured end to end in native/bench/NOTES.md, "OpenBLAS thread timeout").
  if (!process.env.OPENBLAS_THREAD_TIMEOUT) process.env.OPENBLAS_THREAD_TIMEOUT = '4';
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      const loaded = require(file) as NativeAddon;
      loadedFrom = file;
      return loaded;
    } catch (e) {
      errors.push(`- ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const cuda = fs.existsSync('/usr/local/cuda') || fs.existsSync('/usr/local/bin/nvcc') ? 'found' : 'not found';
  throw new Error(
    [
      'Could not load the tsrec native addon.',
      'Tried:',
      ...errors,
      `Node ${process.version} (${process.platform}-${process.arch}, N-API ${process.versions.napi}); CUDA toolkit ${cuda}.`,
      'Possible solutions:',
      '- Build it: npm install (at the repository root), or: npx nx run native:build-addon',
      '- Without CUDA: TSREC_CUDA=OFF npx nx run native:build-addon',
      '- Needs a C++17 compiler and CMake >= 3.18 (apt-get install build-essential cmake); optional libopenblas-dev',
    ].join('\n'),
  );
}

let loadedFrom: string | undefined;
/** The file the process-wide addon was loaded from (undefined before the first load). */
export function addonPath(): string | undefined {
  return loadedFrom;
}

let cached: NativeAddon | undefined;
/** The process-wide addon, loaded on first use. */
export function addon(): NativeAddon {
  if (!cached) cached = loadAddon();
  return cached;
}
