/**
 * Where each embedding table lives in a distributed run (issue 20), decided the same way on every
 * rank from the tables, the world size and TorchEasyRec's sharding constraints:
 * - `table_wise` (the default with several ranks): the table lives on one rank, which looks up
 *   and updates it for the whole global batch (TorchRec's table-wise sharding);
 * - `data_parallel`: every rank holds the table and applies the global batch's update (chosen
 *   when a constraint allows data_parallel but not table_wise);
 * - row_wise / table_row_wise alone: not supported yet (a message naming the field);
 *   column-wise types are refused by validation (sharding.ts).
 * Co-located tables (a deep table and its `_wide` columns in the same rows) follow their host.
 * Table-wise units are placed greedily, largest lookup cost first, on the least-loaded rank
 * (TorchRec's greedy partitioner, one proposal); ties go by bytes, then name, then rank, so the
 * plan is a function of its inputs and every rank computes the same one.
 */
import { type FeatureSharding, formatBytes } from '@tsrec/config';
import type { EmbeddingCollectionSpec } from '@tsrec/models';
import type { SparseOptimizerType } from '@tsrec/native';

import { tableBytes } from './memory_budget';
import { UsageError } from './usage_error';

/** The placements tsrec builds. */
export type Placement = 'data_parallel' | 'table_wise';

/** One table's place in a plan. */
export interface TablePlacement {
  /** The collection's key (`deep`, `wide`, …) and the table's name in it. */
  collection: string;
  table: string;
  rows: number;
  dim: number;
  /** Weights and optimizer state. */
  bytes: number;
  placement: Placement;
  /** The rank holding a table-wise table; null for data_parallel. */
  rank: number | null;
  /** The host table of a co-located table (placed with it). */
  host: string | null;
  /** Why this placement (the constraint's path, or the default). */
  reason: string;
}

/** Every table's placement at a world size. */
export interface ShardingPlan {
  worldSize: number;
  tables: TablePlacement[];
}

const ALL_TYPES = ['data_parallel', 'table_wise', 'row_wise'];

/**
 * Places the tables of each collection as the model asks for them (`place`), keeping the load of
 * every rank across collections. With one rank every table is whole in the process (placement
 * data_parallel, nothing to exchange).
 */
export class ShardingPlanner {
  private readonly load: number[];
  private readonly held: number[];
  private readonly placed: TablePlacement[] = [];
  private readonly byFeature: Map<string, FeatureSharding>;

  /** `constraints`: each constrained sparse feature's effective constraint (`shardingConstraints(config)`). */
  constructor(
    readonly worldSize: number,
    private readonly optimizer: SparseOptimizerType,
    constraints: readonly FeatureSharding[] = [],
  ) {
    if (!Number.isInteger(worldSize) || worldSize < 1)
      throw new RangeError(`Expected an integer world size >= 1 but received ${worldSize}`);
    this.load = new Array(worldSize).fill(0);
    this.held = new Array(worldSize).fill(0);
    this.byFeature = new Map(constraints.map((c) => [c.feature, c]));
  }

  /** The placement of every table of collection `key` (in the spec's table order). */
  place(key: string, spec: EmbeddingCollectionSpec): TablePlacement[] {
    const hostOf = (name: string) => spec.tables.find((t) => t.name === name)?.coLocateWith ?? name;
    // Units: a table with the tables co-located in its rows.
    const units = spec.tables
      .filter((t) => !t.coLocateWith)
      .map((host) => {
        const tables = spec.tables.filter((t) => t.name === host.name || t.coLocateWith === host.name);
        const readers = spec.features.filter((f) => hostOf(f.table) === host.name);
        const dims = tables.reduce((a, t) => a + t.dim, 0);
        return {
          host,
          tables,
          readers,
          cost: Math.max(1, readers.length) * dims,
          bytes: tables.reduce((a, t) => a + tableBytes(t, this.optimizer), 0),
        };
      });
    const out = new Map<string, TablePlacement>();
    const decided = units.map((u) => ({ u, ...this.allowed(key, u.host.name, u.readers) }));
    const tableWise = decided
      .filter((d) => d.placement === 'table_wise')
      .sort((a, b) => b.u.cost - a.u.cost || b.u.bytes - a.u.bytes || (a.u.host.name < b.u.host.name ? -1 : 1));
    for (const d of decided) {
      if (d.placement !== 'data_parallel') continue;
      for (const t of d.u.tables) out.set(t.name, this.entry(key, t, 'data_parallel', null, d.reason));
      for (let r = 0; r < this.worldSize; r++) this.held[r] += d.u.bytes;
    }
    for (const d of tableWise) {
      let best = 0;
      for (let r = 1; r < this.worldSize; r++)
        if (this.load[r] < this.load[best] || (this.load[r] === this.load[best] && this.held[r] < this.held[best]))
          best = r;
      this.load[best] += d.u.cost;
      this.held[best] += d.u.bytes;
      for (const t of d.u.tables) out.set(t.name, this.entry(key, t, 'table_wise', best, d.reason));
    }
    const result = spec.tables.map((t) => out.get(t.name)!);
    this.placed.push(...result);
    return result;
  }

  /** The plan so far. */
  get plan(): ShardingPlan {
    return { worldSize: this.worldSize, tables: this.placed.map((t) => ({ ...t })) };
  }

  private entry(
    key: string,
    t: EmbeddingCollectionSpec['tables'][number],
    placement: Placement,
    rank: number | null,
    reason: string,
  ): TablePlacement {
    return {
      collection: key,
      table: t.name,
      rows: t.rows,
      dim: t.dim,
      bytes: tableBytes(t, this.optimizer),
      placement: this.worldSize === 1 ? 'data_parallel' : placement,
      rank: this.worldSize === 1 ? null : rank,
      host: t.coLocateWith ?? null,
      reason,
    };
  }

  /** What the constraints of a unit's readers allow, and the placement chosen from it. */
  private allowed(
    key: string,
    table: string,
    readers: readonly { name: string }[],
  ): { placement: Placement; reason: string } {
    let types = ALL_TYPES;
    const paths: string[] = [];
    for (const f of readers) {
      const c = this.byFeature.get(f.name);
      if (!c) continue;
      types = types.filter((t) => c.types.includes(t));
      if (!paths.includes(c.path)) paths.push(c.path);
    }
    const reason = paths.length ? paths.join(', ') : 'default';
    if (this.worldSize === 1 || types.includes('table_wise')) return { placement: 'table_wise', reason };
    if (types.includes('data_parallel')) return { placement: 'data_parallel', reason };
    const what = types.length
      ? `allow only ${types.join(', ')}: row-wise placement is not supported yet by tsrec`
      : 'allow no common sharding type';
    throw new UsageError(
      `Expected the sharding constraints of table '${table}' (collection '${key}'; ${paths.join(', ')}) to allow table_wise or data_parallel at ${this.worldSize} ranks, but they ${what} — add 'table_wise' or 'data_parallel' to the list or run one process`,
    );
  }
}

/** Per rank: the tables it holds and their bytes (data_parallel tables on every rank). */
export function rankLoads(plan: ShardingPlan): { tables: number; bytes: number }[] {
  const out = Array.from({ length: plan.worldSize }, () => ({ tables: 0, bytes: 0 }));
  for (const t of plan.tables)
    for (let r = 0; r < plan.worldSize; r++)
      if (t.rank === null || t.rank === r) {
        out[r].tables++;
        out[r].bytes += t.bytes;
      }
  return out;
}

/** The plan as rank 0 prints it: one line per rank, then the data-parallel tables. */
export function formatShardingPlan(plan: ShardingPlan): string[] {
  if (plan.worldSize === 1) return ['sharding: one process, every table whole'];
  const loads = rankLoads(plan);
  const tw = plan.tables.filter((t) => t.placement === 'table_wise');
  const dp = plan.tables.filter((t) => t.placement === 'data_parallel');
  const name = (t: TablePlacement) => (t.collection === 'deep' ? t.table : `${t.collection}/${t.table}`);
  const list = (ts: TablePlacement[]) =>
    ts.length > 8 ? `${ts.slice(0, 8).map(name).join(', ')}, … (${ts.length})` : ts.map(name).join(', ') || 'none';
  const lines = [
    `sharding: ${tw.length} table-wise and ${dp.length} data-parallel tables over ${plan.worldSize} ranks`,
  ];
  for (let r = 0; r < plan.worldSize; r++)
    lines.push(
      `  rank ${r}: ${loads[r].tables} tables, ${formatBytes(loads[r].bytes)} with optimizer state; table-wise: ${list(tw.filter((t) => t.rank === r))}`,
    );
  if (dp.length) lines.push(`  every rank (data_parallel): ${list(dp)}`);
  return lines;
}
