/**
 * Deliberate differences between tsrec's schema (protos/tsrec/protos) and TorchEasyRec's
 * (../shared/tzrec/tzrec/protos, pinned commit), keyed by "<Message>.<field>" or "<Enum>.<VALUE>",
 * each with its reason. schema_compat.test.ts fails on any other difference; tsrec may add fields
 * and messages of its own (they are not differences).
 */
export const DELIBERATE_SCHEMA_DIFFERENCES: Readonly<Record<string, string>> = {};
