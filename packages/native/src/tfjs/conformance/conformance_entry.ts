/**
 * Entry of the tfjs-core conformance run (nx target native:test-tfjs-conformance): bundled by
 * esbuild with --ignore-annotations (tfjs-core's sideEffects list would drop the *_test.js files)
 * and loaded by runner.ts into jasmine. Order matters: side-effect imports, then the test env and
 * filters, then the tests (see shared TFJS_CONFORMANCE.md).
 */
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '../backend';
import { registerTsrecGradientOverrides } from '../gradient_overrides';

import { setTestEnvs, setupTestFilters } from '@tensorflow/tfjs-core/dist/jasmine_util';

import { EXCLUDED_SPECS } from './exclusions';

// tsrec's gradient overrides (the Sum gradient's native broadcast) run under the same specs.
registerTsrecGradientOverrides();

setTestEnvs([{ name: 'tsrec', backendName: 'tsrec', isDataSync: true, flags: {} }]);
// No allowlist: every spec runs except the documented exclusions.
setupTestFilters([], (name: string) => !EXCLUDED_SPECS.some((e) => name.includes(e)));

require('@tensorflow/tfjs-core/dist/tests');
