import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { pidAlive } from './stale_temps';
import { UsageError } from './usage_error';

/** The lock file of a model_dir: one tsrec process writes into a model_dir at a time. */
export const LOCK_FILE = '.tsrec.lock';

/** What a lock file holds (JSON). */
export interface LockHolder {
  pid: number;
  host: string;
  /** The tsrec command holding it (train_eval, eval, export). */
  command: string;
  startedAt: string;
  /** The holder's start time in clock ticks since boot (Linux /proc/<pid>/stat), to tell a reused pid apart. */
  processStart?: number;
}

/** A held model_dir lock. */
export interface ModelDirLock {
  readonly path: string;
  /** Removes the lock file if this process still holds it (idempotent). */
  release(): void;
}

/** This process's start time in clock ticks since boot, or undefined off Linux. */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces, so count after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder of a lock on this host is still running (the same process, not a reused pid). */
function holderAlive(h: LockHolder): boolean {
  if (!pidAlive(h.pid)) return false;
  if (h.processStart === undefined) return true;
  const now = processStartTicks(h.pid);
  return now === undefined || now === h.processStart;
}

function readHolder(file: string): { text: string; holder: LockHolder | null } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', holder: null };
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return { text, holder: Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null };
  } catch {
    return { text, holder: null }; // being written by its holder right now, or garbage
  }
}

const locksHeld = new Set<ModelDirLock>();
let exitHook = false;

/**
 * Takes `modelDir`'s lock for `command`: creates `modelDir/.tsrec.lock` atomically (O_EXCL)
 * with this process's pid and host. A lock left by a process that is gone (same host, pid not
 * running, or running a different process) is stale and taken over; a live holder, or a holder
 * on another host (whose pid cannot be checked), makes this throw a UsageError naming it. The
 * lock is released by `release()` and, failing that, when the process exits.
 */
export function lockModelDir(modelDir: string, command: string): ModelDirLock {
  try {
    fs.mkdirSync(modelDir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR')
      throw new UsageError(`Expected a directory for model_dir but '${modelDir}' is a file (or under one)`);
    throw new Error(`Could not create model_dir '${modelDir}': ${(e as Error).message}`);
  }
  if (!fs.statSync(modelDir).isDirectory())
    throw new UsageError(`Expected a directory for model_dir but '${modelDir}' is a file`);
  const file = path.join(modelDir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command,
    startedAt: new Date().toISOString(),
    processStart: processStartTicks(process.pid),
  };
  const myText = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, myText);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return held(file, myText);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const { text, holder } = readHolder(file);
    if (attempt >= 20) throw inUse(modelDir, file, holder);
    if (!holder) {
      // Just created and not yet written by another process (or gone again): look once more.
      if (text !== '' && attempt >= 10) throw inUse(modelDir, file, null);
      sleepMs(20);
      continue;
    }
    if (holder.host !== me.host || holderAlive(holder)) throw inUse(modelDir, file, holder);
    breakStaleLock(file, text);
  }
}

/** Moves a stale lock aside (atomic rename), and puts it back if it turned out not to be the stale one. */
function breakStaleLock(file: string, staleText: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else broke it first
    throw e;
  }
  const moved = fs.readFileSync(aside, 'utf8');
  if (moved !== staleText) {
    // Between our read and the rename another process broke the stale lock and took its own:
    // give it back (link fails if yet another lock exists, which then stands).
    try {
      fs.linkSync(aside, file);
    } catch {
      // a newer lock is in place
    }
  }
  fs.rmSync(aside, { force: true });
}

function held(file: string, myText: string): ModelDirLock {
  let released = false;
  const lock: ModelDirLock = {
    path: file,
    release() {
      if (released) return;
      released = true;
      locksHeld.delete(lock);
      try {
        if (fs.readFileSync(file, 'utf8') === myText) fs.rmSync(file, { force: true });
      } catch {
        // already gone
      }
    },
  };
  locksHeld.add(lock);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const l of [...locksHeld]) l.release();
    });
  }
  return lock;
}

function inUse(modelDir: string, file: string, h: LockHolder | null): UsageError {
  const who = h
    ? `tsrec ${h.command} (pid ${h.pid} on ${h.host}, since ${h.startedAt})`
    : 'another tsrec process (its lock file is unreadable)';
  return new UsageError(
    `model_dir '${modelDir}' is in use by ${who}; wait for it to finish or choose another --model_dir (if that process is gone, remove ${file})`,
  );
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
