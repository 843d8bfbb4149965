/**
 * Whether the featurize step uses the native field kernels of @tsrec/native (splitting CSV rows,
 * hashing id fields, parsing decimal fields). On by default; `TSREC_NATIVE_FIELDS=0` in the
 * environment (read once per thread, so it reaches data workers) or `useNativeFieldKernels(false)`
 * (this thread only) selects the TypeScript paths, which give the same results: the kernels only
 * take the common cases and hand everything else, errors included, back to them.
 */
let enabled = process.env.TSREC_NATIVE_FIELDS !== '0';

/** Turns the native field kernels on or off for this thread; returns the previous setting. */
export function useNativeFieldKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Whether this thread uses the native field kernels. */
export function nativeFieldKernels(): boolean {
  return enabled;
}
