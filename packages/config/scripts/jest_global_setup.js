// jest globalSetup: make sure src/gen exists and matches the protos before any test imports it.

const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'codegen.js')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('config codegen failed; see the output above');
};
