#!/usr/bin/env node
// `npm test`: runs every project's `test` target through nx (jest suites and ctest), then prints
// one summary line over all of them from the result files the runners wrote into .test-results/.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const results = path.join(root, '.test-results');
fs.rmSync(results, { recursive: true, force: true });
fs.mkdirSync(results, { recursive: true });
const nx = path.join(root, 'node_modules', '.bin', 'nx');
const extra = process.argv.slice(2);
const r = spawnSync(nx, ['run-many', '-t', 'test', '--outputStyle=static', '--parallel=1', ...extra], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
});

let passed = 0,
  failed = 0,
  skipped = 0;
for (const f of fs.readdirSync(results)) {
  const text = fs.readFileSync(path.join(results, f), 'utf8');
  if (f.endsWith('.json')) {
    const j = JSON.parse(text);
    passed += j.numPassedTests;
    failed += j.numFailedTests;
    skipped += j.numPendingTests + (j.numTodoTests || 0);
  } else if (f.endsWith('.xml')) {
    for (const m of text.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const body = m[2] || '';
      if (/<failure\b|<error\b/.test(body)) failed++;
      else if (/<skipped\b/.test(body) || /status="(notrun|disabled)"/.test(m[0])) skipped++;
      else passed++;
    }
  }
}
const status = r.status === 0 && failed === 0 ? 0 : 1;
// A runner that crashed (a fatal error in the process) writes no result file: its tests are in
// no count, so say that the run failed rather than print a clean-looking line.
const crashed =
  r.status !== 0 && failed === 0
    ? ` — FAILED: a test runner exited with status ${r.status ?? r.signal} without reporting failures (a crash? see the output above)`
    : '';
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped${crashed}`);
process.exit(status === 0 ? 0 : r.status || 1);
