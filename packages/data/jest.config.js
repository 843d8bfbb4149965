// @tsrec/config maps to its sources (jest.preset.js), whose generated proto code must exist:
// config's codegen runs first (a no-op when the protos have not changed), so `npx jest` works
// on a fresh clone as well as through nx.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'data',
  globalSetup: '<rootDir>/../config/scripts/jest_global_setup.js',
};
