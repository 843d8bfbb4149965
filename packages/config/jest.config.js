// Codegen runs first (a no-op when the protos have not changed), so `npx jest` works on a
// fresh clone as well as through nx.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'config',
  globalSetup: '<rootDir>/scripts/jest_global_setup.js',
  setupFiles: ['<rootDir>/scripts/jest_model_rules.js'],
};
