import * as os from 'node:os';
import { buildInfo, mpiEnvironment, selectBackend } from '@tsrec/native';

/** The facts `tsrec info` prints: what this installation was built with and what it finds. */
export interface InstallInfo {
  version: string;
  node: string;
  platform: string;
  addon: string;
  build: string;
  blas: string;
  openblasCoretype: string;
  cuda: string;
  threads: number;
  cpus: number;
  mpi: string;
  tfjsBackend: string;
}

/** Gathers the facts (loads the addon and selects the tfjs backend as training would). */
export async function installInfo(): Promise<InstallInfo> {
  const b = buildInfo();
  const version = (require('../package.json') as { version: string }).version;
  let tfjsBackend: string;
  try {
    tfjsBackend = await selectBackend({});
  } catch (e) {
    tfjsBackend = `none: ${(e as Error).message}`;
  }
  const cuda = b.cudaCompiled
    ? `compiled (sm ${b.cudaArchs || '?'}), ${b.cudaDevices} device${b.cudaDevices === 1 ? '' : 's'}${b.cudaDevices > 0 ? `: ${b.cudaDescription}` : ''}`
    : 'not compiled (install the CUDA toolkit, then rebuild: npx nx run native:build-addon)';
  return {
    version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    addon: b.addonPath,
    build: `${b.buildType}, ${b.archFlags || 'default target'}, ${b.compiler}`,
    blas: b.blas,
    openblasCoretype: process.env.OPENBLAS_CORETYPE ?? '',
    cuda,
    threads: b.threads,
    cpus: os.availableParallelism(),
    mpi: mpiLine(b.mpiCompiled),
    tfjsBackend,
  };
}

/** The report, one fact per line. */
export function formatInstallInfo(i: InstallInfo): string {
  const rows: [string, string][] = [
    ['tsrec', `${i.version} (node ${i.node}, ${i.platform})`],
    ['addon', i.addon],
    ['build', i.build],
    ['BLAS', `${i.blas}${i.openblasCoretype ? `; OPENBLAS_CORETYPE=${i.openblasCoretype}` : ''}`],
    ['CUDA', i.cuda],
    ['threads', `${i.threads} native pool threads (TSREC_NUM_THREADS), ${i.cpus} CPUs`],
    ['MPI', i.mpi],
    ['tfjs', `backend ${i.tfjsBackend} (TSREC_TFJS_BACKEND)`],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(9)}${v}`).join('\n');
}

/** Whether this addon can run under mpirun, and the job this process is part of. */
function mpiLine(compiled: boolean): string {
  if (!compiled) return 'not compiled (single process; install libopenmpi-dev, then rebuild: npx nx run native:build)';
  const job = mpiEnvironment();
  return `compiled (Open MPI)${job ? `; rank ${job.rank} of ${job.size} (launched by mpirun)` : '; not launched by mpirun'}`;
}
