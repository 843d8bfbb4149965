#!/usr/bin/env node
// Prints what, besides the sources, decides the addon binary: the toolchain versions and the
// system libraries the CMake build looks for (OpenBLAS, Open MPI, the CUDA toolkit). nx hashes
// this output into build-addon's cache key (a `runtime` input), so installing libopenblas-dev or
// another compiler after a first build rebuilds the addon instead of restoring the cached one.
// Must stay fast: it runs on every nx invocation that needs the target's hash.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

function versionLine(cmd, args, last = false) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) return 'not found';
  const lines = (r.stdout || r.stderr).split('\n').filter((l) => l.trim());
  return last ? lines[lines.length - 1] : lines[0];
}

const nvcc = process.env.CUDACXX || (fs.existsSync('/usr/local/cuda/bin/nvcc') ? '/usr/local/cuda/bin/nvcc' : 'nvcc');
const lines = [
  `c++: ${versionLine(process.env.CXX || 'c++', ['--version'])}`,
  `cmake: ${versionLine('cmake', ['--version'])}`,
  `nvcc: ${versionLine(nvcc, ['--version'], true)}`,
  // libopenmpi-dev's compiler wrapper: FindMPI (cmake/TsrecMpi.cmake) needs it and mpi.h.
  `mpicc: ${versionLine('mpicc', ['--version'])}`,
];
// -march=native compiles for this CPU: another CPU model must not reuse the binary.
const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
lines.push(`cpu: ${/^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? process.arch}`);
lines.push(`cpu flags: ${/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? ''}`);
// Shared libraries the build may link (ldconfig's cache lists what the linker would find).
const ld = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
const libs = (ld.stdout || '')
  .split('\n')
  .filter((l) => /lib(openblas|blas|cblas|mpi)\b/.test(l))
  .map((l) => l.trim())
  .sort();
lines.push(...libs.map((l) => `lib: ${l}`));
// Headers found by the BLAS lookup (cmake/TsrecBlas.cmake).
for (const h of [
  '/usr/include/cblas.h',
  '/usr/include/openblas/cblas.h',
  '/usr/include/x86_64-linux-gnu/cblas.h',
  '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/local/include/cblas.h',
]) {
  if (fs.existsSync(h)) lines.push(`header: ${h}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
