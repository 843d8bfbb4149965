// TorchEasyRec's sharding constraints (feature.proto ParameterConstraints, as per-feature
// `embedding_constraints` and train_config's `global_embedding_constraints`): which TorchRec
// sharding types the planner may choose for a table. tsrec's planner (trainer/sharding_plan.ts)
// places each table table-wise (on one rank), row-wise (blocks of rows on every rank) or
// data-parallel (whole on every rank). So:
// - in one process every type that keeps a table whole is what tsrec does (with a world size of 1
//   TorchRec's table-wise and row-wise shards are the whole table too);
// - column-wise splits (column_wise, table_column_wise, grid_shard) are not supported yet: with
//   row-wise Adagrad they change the optimizer's per-row state (one per column shard);
// - with several ranks the constraint must allow table_wise, row_wise or data_parallel
//   (`shardingProblems`, checked by the trainer at start): table_row_wise alone (row-wise within a
//   host, table-wise across hosts) is not built yet.
import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import type { ProblemSink } from './config_problem';
import { didYouMean } from './did_you_mean';
import { listFeatures } from './feature_catalog';

/** TorchRec's sharding types (TorchEasyRec's feature.proto comment). */
export const SHARDING_TYPES = [
  'data_parallel',
  'table_wise',
  'column_wise',
  'row_wise',
  'table_row_wise',
  'table_column_wise',
  'grid_shard',
] as const;

/** The types that keep a table whole in one process. */
const WHOLE_TABLE = new Set(['data_parallel', 'table_wise', 'row_wise', 'table_row_wise']);

/** A sparse feature's effective sharding constraint: its own, else the global one. */
export interface FeatureSharding {
  feature: string;
  table: string;
  /** Path of the sharding_types field that applies (the feature's or train_config's). */
  path: string;
  types: string[];
}

/** Every sparse feature whose table is constrained, with the constraint that applies. */
export function shardingConstraints(config: EasyRecConfig): FeatureSharding[] {
  const global = config.trainConfig?.globalEmbeddingConstraints?.shardingTypes ?? [];
  const out: FeatureSharding[] = [];
  for (const f of listFeatures(config)) {
    if (!f.isSparse) continue;
    const own = (f.message as { embeddingConstraints?: { shardingTypes: string[] } }).embeddingConstraints;
    if (own && own.shardingTypes.length > 0)
      out.push({
        feature: f.name,
        table: f.tableName,
        path: `${f.path}.embedding_constraints.sharding_types`,
        types: [...own.shardingTypes],
      });
    else if (global.length > 0)
      out.push({
        feature: f.name,
        table: f.tableName,
        path: 'train_config.global_embedding_constraints.sharding_types',
        types: [...global],
      });
  }
  return out;
}

/** Validation: known type names, and a type tsrec can honour (one that keeps the table whole). */
export function validateSharding(config: EasyRecConfig, sink: ProblemSink): void {
  const seen = new Set<string>();
  for (const c of shardingConstraints(config)) {
    if (seen.has(c.path)) continue;
    seen.add(c.path);
    c.types.forEach((t, i) => {
      if (!(SHARDING_TYPES as readonly string[]).includes(t)) {
        const hint = didYouMean(t, SHARDING_TYPES);
        sink.error(
          `${c.path}[${i}]`,
          `expected a sharding type (${SHARDING_TYPES.join(', ')}) but received '${t}'${hint ? ` — did you mean '${hint}'?` : ''}`,
        );
      }
    });
    if (
      c.types.every((t) => (SHARDING_TYPES as readonly string[]).includes(t)) &&
      !c.types.some((t) => WHOLE_TABLE.has(t))
    )
      sink.unsupported(
        c.path,
        `column-wise sharding (${c.types.join(', ')})`,
        'allow data_parallel, table_wise or row_wise (tsrec keeps each table whole)',
      );
  }
}

/**
 * What the constraints forbid at `worldSize` ranks: one line per constraint that allows none of
 * table_wise, row_wise and data_parallel (empty when all can run).
 */
export function shardingProblems(config: EasyRecConfig, worldSize: number): { path: string; message: string }[] {
  if (worldSize <= 1) return [];
  const byPath = new Map<string, FeatureSharding[]>();
  for (const c of shardingConstraints(config))
    if (!c.types.some((t) => t === 'data_parallel' || t === 'table_wise' || t === 'row_wise'))
      byPath.set(c.path, [...(byPath.get(c.path) ?? []), c]);
  return [...byPath].map(([path, cs]) => ({
    path,
    message: `sharding_types [${cs[0].types.join(', ')}] for ${cs.length === 1 ? `feature '${cs[0].feature}'` : `${cs.length} features (${cs.map((c) => c.feature).join(', ')})`}: at ${worldSize} ranks tsrec places a table on one rank (table_wise), in blocks of rows over every rank (row_wise) or on every rank (data_parallel); table_row_wise is not supported yet by tsrec — add one of those to the list or run one process`,
  }));
}
