import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The shared folder of real data sets and TorchEasyRec's reference configs: TSREC_SHARED_DIR, else
 * `shared/` next to the repository (never copied into the repository: licences).
 */
export const SHARED_DIR = process.env.TSREC_SHARED_DIR
  ? path.resolve(process.env.TSREC_SHARED_DIR)
  : path.resolve(__dirname, '../../../shared');

/** `rel` under the shared folder. */
export function sharedPath(rel: string): string {
  return path.join(SHARED_DIR, rel);
}

/** Set by .ci/run: a test that needs shared data fails instead of skipping when it is missing. */
export const SHARED_DATA_REQUIRED = process.env.TSREC_REQUIRE_SHARED_DATA === '1';

/**
 * `describe(name, fn)` when every path of `needs` (relative to the shared folder) exists. Otherwise
 * the block is skipped (its body not run) with one line on stderr naming what is missing and why, or, under
 * TSREC_REQUIRE_SHARED_DATA=1, it fails with that line.
 */
export function describeWithSharedData(needs: string[], name: string, fn: () => void): void {
  const missing = needs.map(sharedPath).filter((p) => !fs.existsSync(p));
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const why = `'${name}' needs ${missing.join(', ')} (the shared data folder next to the repository, or TSREC_SHARED_DIR)`;
  if (SHARED_DATA_REQUIRED) {
    describe(name, () => {
      it('has its shared data (TSREC_REQUIRE_SHARED_DATA=1)', () => {
        throw new Error(`missing shared data: ${why}`);
      });
    });
    return;
  }
  // The block's body is not run (bodies read their data while jest collects tests): one skipped
  // test stands for it.
  process.stderr.write(`skipped: ${why}: not found\n`);
  describe.skip(name, () => {
    it(`needs ${needs.join(', ')} from the shared folder`, () => {});
  });
}
