import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { mpiCompiled } from '@tsrec/native';

/** Set by .ci/run: the distributed tests fail instead of skipping when mpirun or the MPI build is missing. */
const REQUIRED = process.env.TSREC_REQUIRE_DIST === '1';

/** Why the distributed tests cannot run here, or null when they can. */
export function whyNoMpi(): string | null {
  const which = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0)
    return 'mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)';
  if (!mpiCompiled())
    return 'the tsrec addon was built without MPI (install libopenmpi-dev, then npx nx run native:build)';
  return null;
}

/**
 * `describe(name, fn)` where mpirun and an MPI build exist; otherwise one printed line saying why
 * and a skipped block, or, under TSREC_REQUIRE_DIST=1, a failing test with that line.
 */
export function describeWithMpi(name: string, fn: () => void): void {
  const why = whyNoMpi();
  if (!why) {
    describe(name, fn);
    return;
  }
  if (REQUIRED) {
    describe(name, () => {
      it('has mpirun and an MPI build (TSREC_REQUIRE_DIST=1)', () => {
        throw new Error(`'${name}' cannot run: ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`skipping '${name}': ${why}\n`);
  describe.skip(name, fn);
}

export interface MpiRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** The JSON lines the ranks printed. */
  json: Array<Record<string, unknown>>;
}

/** The flags every test job uses: loopback and shared memory only, no core binding. */
export const MPIRUN_FLAGS = [
  '--allow-run-as-root',
  '--oversubscribe',
  '--bind-to',
  'none',
  '--mca',
  'btl',
  'self,vader',
  '--mca',
  'oob_tcp_if_include',
  'lo',
];

/** Runs `command` (argv) on `np` ranks; `timeoutS` bounds the whole job. */
export function mpirun(np: number, command: string[], env: NodeJS.ProcessEnv = {}, timeoutS = 240): MpiRun {
  const t0 = Date.now();
  const r = spawnSync('mpirun', [...MPIRUN_FLAGS, '-np', String(np), ...command], {
    encoding: 'utf8',
    env: { ...process.env, TSREC_NUM_THREADS: '1', ...env },
    timeout: timeoutS * 1000,
    maxBuffer: 64 << 20,
  });
  const json: Array<Record<string, unknown>> = [];
  for (const line of (r.stdout ?? '').split('\n'))
    if (line.startsWith('{'))
      try {
        json.push(JSON.parse(line));
      } catch {
        // not a result line
      }
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds: (Date.now() - t0) / 1000, json };
}

/** A worker script of this folder. */
export function worker(name: string): string {
  return path.join(__dirname, 'workers', name);
}
