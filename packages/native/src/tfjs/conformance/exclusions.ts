/**
 * tfjs-core 4.22.0 specs that the conformance run of the `tsrec` backend skips. Each entry is a
 * substring of the full spec name ("<describe> tsrec {} <it>") followed by its reason, as
 * tfjs-node's src/run_tests.ts keeps its IGNORE_LIST. Everything else in the suite runs.
 *
 * Currently empty: all 4230 specs run and pass except the 5 that tfjs-core itself marks pending
 * (xit: flags_test 'isBrowser: true'/'isBrowser: false', kernel_registry_test 'errors when
 * registering the same kernel twice'/'warning when registering the same gradient twice', and
 * io/model_management_test's browser-only cases). The cpu backend's own exclusion,
 * 'computation in worker', belongs to tfjs-backend-cpu's tests, which are not part of this suite.
 */
export const EXCLUDED_SPECS: readonly string[] = [];
