import {
  type BackendValues,
  copyRegisteredKernels,
  type DataId,
  type DataType,
  findBackendFactory,
  getKernel,
  registerBackend,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { addon } from '../addon';
import { kernelAddon } from './kernel_addon';
import { TSREC_KERNEL_CONFIGS } from './register_all_kernels';

/** Arrays shorter than this are not pooled: V8 allocates small typed arrays cheaply. */
const POOL_MIN_LENGTH = 4096;
/** From this length (2 MiB) outputs are native huge-page memory (see takeF32). */
const NATIVE_MIN_LENGTH = 512 * 1024;
/** Upper bound on the bytes the pool keeps (beyond it, freed arrays go to the GC). */
const POOL_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The cpu backend's storage plus a pool of the Float32Arrays that tsrec's native kernels allocate
 * for their outputs. A fresh multi-MB Float32Array costs ~3 ms here (zero-fill, page faults and
 * the GCs its external memory triggers), several times the kernel that fills it; a train step
 * allocates the same sizes every time, so freed outputs are reused.
 *
 * Safety: an array is reused only when (1) a native kernel allocated it (takeF32), (2) no live
 * tensor references its buffer — every data entry is counted per buffer, so cpu kernels that
 * alias an input (zero-copy subarray slices) keep it alive — and (3) it never escaped to user
 * code through readSync/read (dataSync returns the backing array itself).
 */
export class TsrecMathBackend extends MathBackendCPU {
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  /** Arrays takeF32 handed out, by buffer; the value counts the data entries that reference it. */
  private readonly owned = new WeakMap<ArrayBufferLike, { array: Float32Array; refs: number; key: number }>();
  private readonly escaped = new WeakSet<ArrayBufferLike>();

  /**
   * A Float32Array of `length` for a kernel output, reused from the pool when one is free;
   * contents undefined. `aligned` (always from 2 MiB): native memory, 64-byte aligned, on huge
   * pages from 2 MiB — the TBE forward fills such outputs with streaming stores, and the TBE
   * backward reads a huge-page gradient in place instead of copying it for the TLB (NOTES.md).
   * Native and plain arrays are pooled apart.
   */
  takeF32(length: number, aligned = false): Float32Array {
    if (length < POOL_MIN_LENGTH) return new Float32Array(length);
    if (length >= NATIVE_MIN_LENGTH) aligned = true;
    const key = aligned ? -length : length;
    const reused = this.pool.get(key)?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      this.owned.set(reused.buffer, { array: reused, refs: 0, key });
      return reused;
    }
    let fresh: Float32Array;
    if (aligned) {
      // A view in this realm: the addon's arrays are foreign to jest's, and tfjs checks instanceof.
      const a = addon().allocFloat32(length);
      fresh = new Float32Array(a.buffer, a.byteOffset, a.length);
    } else {
      fresh = new Float32Array(length);
    }
    this.owned.set(fresh.buffer, { array: fresh, refs: 0, key });
    return fresh;
  }

  private track(values: BackendValues | null | undefined, delta: number): void {
    const buffer = (values as { buffer?: ArrayBufferLike } | null | undefined)?.buffer;
    if (!buffer) return;
    const entry = this.owned.get(buffer);
    if (!entry) return;
    entry.refs += delta;
    if (entry.refs > 0) return;
    this.owned.delete(buffer);
    if (this.escaped.has(buffer) || this.pooledBytes + entry.array.byteLength > POOL_MAX_BYTES) return;
    const list = this.pool.get(entry.key);
    if (list) list.push(entry.array);
    else this.pool.set(entry.key, [entry.array]);
    this.pooledBytes += entry.array.byteLength;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const id = super.write(values, shape, dtype);
    this.track(values, +1);
    return id;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    const old = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    super.move(dataId, values, shape, dtype, refCount);
    this.track(values, +1);
    if (old) this.track(old, -1);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = this.data.get(dataId)?.values as { buffer?: ArrayBufferLike } | undefined;
    if (values?.buffer) this.escaped.add(values.buffer);
    return super.readSync(dataId);
  }

  /**
   * The backing array of `dataId` without marking it escaped (unlike readSync): for consumers that
   * read it synchronously and keep no reference once the tensor may be disposed (`borrowFloat32`).
   */
  peekValues(dataId: DataId): BackendValues | undefined {
    return this.data.get(dataId)?.values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const freed = super.disposeData(dataId, force);
    if (values && freed && !this.data.has(dataId)) this.track(values, -1);
    return freed;
  }

  override dispose(): void {
    this.pool.clear();
    this.pooledBytes = 0;
    super.dispose();
  }
}

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
      const backend = new TsrecMathBackend();
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
