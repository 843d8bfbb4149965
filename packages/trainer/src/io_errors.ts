/** What to do about a full disk, appended to ENOSPC messages. */
export const DISK_FULL_HINT =
  ' (the disk is full; free space or choose another --model_dir, then resume with --continue_train)';

/**
 * A system error (ENOSPC, EIO, EACCES, …) with what tsrec was doing and the path: Node's own
 * messages for writes name neither ("ENOSPC: no space left on device, write"). Other errors are
 * returned as they are.
 */
export function ioError(e: unknown, doing: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !/^E[A-Z]+$/.test(err.code)) return e as Error;
  const out = new Error(`Could not ${doing}: ${err.message}${err.code === 'ENOSPC' ? DISK_FULL_HINT : ''}`);
  (out as NodeJS.ErrnoException).code = err.code;
  return out;
}
