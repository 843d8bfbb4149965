import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { getGradient } from '@tensorflow/tfjs-core';

import { registerTsrecGradientOverrides } from './gradient_overrides';
import { registerTsrecGradients } from './register_all_gradients';

/**
 * Registers tfjs-core's gradients (tf.grad, optimizers) in a CommonJS process. tfjs-core's CJS
 * entry registers none, and its `dist/register_all_gradients.js` is an ES module with
 * extensionless imports that neither require() nor jest can load. So the first call bundles it
 * with esbuild into a CJS file cached under the OS temp dir (about 0.3 s, once per tfjs version)
 * and requires it; the engine and registries are global, so this second copy of the ops is
 * harmless (tfjs's Tensor has a Symbol.hasInstance for exactly that). Bundled code (esbuild with
 * --main-fields=module,main) should import '@tensorflow/tfjs-core/dist/register_all_gradients'
 * instead. Needs the esbuild package (a devDependency of @tsrec/native). Also registers the
 * gradients of tsrec's own kernels (register_all_gradients.ts) and its overrides.
 */
export function registerTfjsGradients(): void {
  registerTsrecGradients();
  if (getGradient('BatchMatMul')) {
    registerTsrecGradientOverrides();
    return;
  }
  const corePkg = require('@tensorflow/tfjs-core/package.json') as { version: string };
  const out = path.join(os.tmpdir(), `tsrec-tfjs-gradients-${corePkg.version}-${process.getuid?.() ?? 0}.cjs`);
  if (!fs.existsSync(out)) {
    const esbuild = require('esbuild') as typeof import('esbuild');
    const tmp = `${out}.${process.pid}.tmp`;
    esbuild.buildSync({
      entryPoints: [require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: tmp,
      logLevel: 'error',
    });
    fs.renameSync(tmp, out);
  }
  require(out);
  registerTsrecGradientOverrides();
}
