#!/usr/bin/env node
// Builds the addon (and the C++ tests) with cmake-js (CMakeLists.txt here forwards to ../../native) into ./build.
// Environment: TSREC_CUDA=AUTO|ON|OFF (default AUTO), TSREC_MARCH (default native),
// TSREC_BLAS=AUTO|OPENBLAS|BUILTIN (default AUTO), TSREC_MPI=AUTO|ON|OFF (default AUTO: Open MPI when
// libopenmpi-dev is installed), TSREC_BUILD_TYPE (default Release). Runs on `npm install` and `nx run native:build`.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.join(__dirname, '..');
const buildDir = path.join(pkgDir, 'build');
// A build folder made elsewhere (restored from nx's cache in another checkout, or copied) holds
// another path in its CMake cache, which CMake refuses: it is removed and configured afresh.
try {
  const cache = fs.readFileSync(path.join(buildDir, 'CMakeCache.txt'), 'utf8');
  const made = /^CMAKE_CACHEFILE_DIR:INTERNAL=(.*)$/m.exec(cache)?.[1];
  if (made && path.resolve(made) !== fs.realpathSync(buildDir)) {
    console.error(`@tsrec/native: ${buildDir} was configured in ${made}; configuring it afresh`);
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
} catch {
  // no cache yet
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const defs = {
  TSREC_CUDA: process.env.TSREC_CUDA || 'AUTO',
  TSREC_MARCH: process.env.TSREC_MARCH || 'native',
  TSREC_BLAS: process.env.TSREC_BLAS || 'AUTO',
  TSREC_MPI: process.env.TSREC_MPI || 'AUTO',
};
// `configure` always re-applies the options (cmake-js `compile` keeps a cached configuration),
// then `build` compiles incrementally.
const common = ['-d', pkgDir, '-O', buildDir, '--config', process.env.TSREC_BUILD_TYPE || 'Release'];
const configure = [cmakeJs, 'configure', ...common];
for (const [k, v] of Object.entries(defs)) configure.push(`--CD${k}=${v}`);
const build = [cmakeJs, 'build', ...common];
if (process.env.TSREC_BUILD_JOBS) build.push('--parallel', process.env.TSREC_BUILD_JOBS);
let r = spawnSync(process.execPath, configure, { cwd: pkgDir, stdio: 'inherit' });
if (r.status === 0) r = spawnSync(process.execPath, build, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    `\n@tsrec/native: building the addon failed (exit ${r.status}).\n` +
      '  Needs: a C++17 compiler (g++ >= 9), CMake >= 3.18; optional: libopenblas-dev, libopenmpi-dev, the CUDA toolkit.\n' +
      '  Retry with TSREC_CUDA=OFF to skip the CUDA kernels, or TSREC_MARCH=OFF for a generic CPU target.',
  );
  process.exit(r.status || 1);
}
