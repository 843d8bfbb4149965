import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root and the CLI binary the tests run (it needs packages/trainer/dist). */
export const REPO_ROOT = path.resolve(__dirname, '../..');
export const TSREC_BIN = path.join(REPO_ROOT, 'packages/trainer/bin/tsrec.js');

/** Fails early with a clear message when the trainer has not been built. */
export function requireBuiltCli(): void {
  const dist = path.join(REPO_ROOT, 'packages/trainer/dist/cli.js');
  if (!fs.existsSync(dist))
    throw new Error(
      `Expected ${dist}; build the trainer first (npx nx run trainer:build, or npx nx run e2e:test which builds it)`,
    );
}

/** What a finished CLI process left. */
export interface CliResult {
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  seconds: number;
}

/** Options of `runCli` / `startCli`. */
export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each chunk of stderr (progress lines) as it arrives. */
  onStderr?: (chunk: string, child: ChildProcess) => void;
}

/**
 * The environment of every CLI run: a fixed native thread count (determinism does not depend
 * on it, but this 2-core machine is shared), no debug stack traces, no colours.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TSREC_NUM_THREADS: '2', NO_COLOR: '1', ...extra };
  delete env.TSREC_DEBUG;
  delete env.TSREC_FAULT_KILL_IN_CHECKPOINT;
  for (const [k, v] of Object.entries(extra))
    if (v === undefined) delete env[k];
    else env[k] = v;
  return env;
}

/** Starts `node packages/trainer/bin/tsrec.js <args>`; resolves when it exits. */
export function startCli(args: string[], o: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [TSREC_BIN, ...args], {
    cwd: o.cwd ?? REPO_ROOT,
    env: cliEnv(o.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    o.onStderr?.(s, child);
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out, err, seconds: (Date.now() - t0) / 1000 }));
  });
  return { child, done };
}

/** Runs the CLI to the end. */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return startCli(args, o).done;
}

/** Runs the CLI and throws with its stderr unless it exits 0. */
export async function runCliOk(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const r = await runCli(args, o);
  if (r.code !== 0) throw new Error(`tsrec ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.err.slice(-4000)}`);
  return r;
}

/** A stack trace line (`    at f (file:1:2)`) anywhere in the text. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+(\(|:\d+:\d+)/m.test(text) || /\n\s+at /.test(text);
}
