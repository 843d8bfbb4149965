// Shared jest settings for every package: swc for speed, workspace packages mapped to their
// sources so tests never depend on a stale dist/, ESM-only deps transformed (jest on Node 20
// cannot require(esm)).
const path = require('node:path');
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer|hyparquet-compressors)/)'],
  moduleNameMapper: { '^@tsrec/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts') },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/build/'],
};
