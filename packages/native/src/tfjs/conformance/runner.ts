/**
 * Runs the bundled tfjs-core suite (dist/tfjs_conformance_bundle.js) in jasmine against the
 * `tsrec` backend and prints "tfjs-conformance: N passed, N failed, N skipped" last. Extra argv
 * entries filter spec names (substring), e.g. `node dist/tfjs_conformance_runner.js "matmul "`.
 */
import * as path from 'node:path';

const Jasmine = require('jasmine');

interface SpecResult {
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}

async function main(): Promise<void> {
  const runner = new Jasmine();
  runner.exitOnCompletion = false;
  runner.loadConfig({
    spec_files: [path.join(__dirname, 'tfjs_conformance_bundle.js')],
    random: false,
    jsLoader: 'require',
  });
  const grep = process.argv.slice(2);
  const counts: Record<string, number> = {};
  const failures: SpecResult[] = [];
  runner.env.clearReporters();
  runner.env.addReporter({
    specDone(r: SpecResult) {
      counts[r.status] = (counts[r.status] ?? 0) + 1;
      if (r.status === 'failed') failures.push(r);
    },
  });
  if (grep.length)
    runner.env.configure({
      specFilter: (spec: { getFullName(): string }) => grep.some((g) => spec.getFullName().includes(g)),
    });
  const t0 = Date.now();
  await runner.execute();
  for (const f of failures)
    console.log(
      `FAILED: ${f.fullName}\n    ${f.failedExpectations.map((e) => e.message.split('\n')[0]).join('\n    ')}`,
    );
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(
    `tfjs-core specs: ${total} defined; by status ${JSON.stringify(counts)}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const skipped = (counts.excluded ?? 0) + (counts.pending ?? 0);
  console.log(`tfjs-conformance: ${counts.passed ?? 0} passed, ${counts.failed ?? 0} failed, ${skipped} skipped`);
  process.exit(counts.failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
