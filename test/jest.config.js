// End-to-end tests: they spawn the real `tsrec` CLI (packages/trainer/bin/tsrec.js, which runs
// packages/*/dist), so the trainer must be built first (`npx nx run e2e:test` does that).
// One file at a time: every test is CPU-bound and the CI machine has 2 cores.
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'e2e',
  // test/distributed runs under mpirun by its own target (npx nx run e2e:dist).
  testPathIgnorePatterns: [...require('../jest.preset.js').testPathIgnorePatterns, '/test/distributed/'],
  maxWorkers: 1,
  testTimeout: 300000,
};
