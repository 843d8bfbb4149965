// Distributed tests: each spawns `mpirun -np W` (loopback only) and checks what the ranks print.
// Run by `npx nx run e2e:dist` (CI), not by `npm test`: they need Open MPI and the addon built
// with it, and take a few seconds per job. Without mpirun they skip with one printed line, or fail
// under TSREC_REQUIRE_DIST=1 (set by .ci/run).
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'dist',
  rootDir: '.',
  testPathIgnorePatterns: ['/node_modules/', '/build/'],
  maxWorkers: 1,
  testTimeout: 300000,
};
