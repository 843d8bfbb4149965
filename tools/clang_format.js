#!/usr/bin/env node
// C++/CUDA half of `npm run lint` (--check) and `npm run format` (--write): clang-format over
// every tracked .cc/.h/.cu/.cuh file with the repository's .clang-format. The output of
// clang-format changes between major versions, so only the pinned one (14, Debian bookworm's
// `clang-format`) is used; without it the check is skipped with a line saying so, unless
// TSREC_REQUIRE_CLANG_FORMAT=1 (set by .ci/run) turns the skip into a failure.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const PINNED_MAJOR = 14;
const root = path.join(__dirname, '..');
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
  console.error('usage: node tools/clang_format.js --check | --write');
  process.exit(2);
}

function findClangFormat() {
  for (const bin of [`clang-format-${PINNED_MAJOR}`, 'clang-format']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    const m = r.status === 0 && /version (\d+)\./.exec(r.stdout);
    if (m && Number(m[1]) === PINNED_MAJOR) return bin;
  }
  return null;
}

const bin = findClangFormat();
if (!bin) {
  const msg = `clang-format ${PINNED_MAJOR} not found (apt-get install clang-format on Debian 12): C++ formatting not checked`;
  if (process.env.TSREC_REQUIRE_CLANG_FORMAT === '1') {
    console.error(`error: ${msg}`);
    process.exit(1);
  }
  console.log(`skipped: ${msg}`);
  process.exit(0);
}
const files = spawnSync('git', ['ls-files', '*.cc', '*.h', '*.cu', '*.cuh'], { cwd: root, encoding: 'utf8' })
  .stdout.split('\n')
  .filter(Boolean);
const args = mode === '--check' ? ['--dry-run', '--Werror'] : ['-i'];
const r = spawnSync(bin, [...args, ...files], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  if (mode === '--check') console.error('C++ formatting differs from .clang-format: run `npm run format`');
  process.exit(r.status || 1);
}
console.log(`clang-format ${mode === '--check' ? 'checked' : 'formatted'} ${files.length} files`);
