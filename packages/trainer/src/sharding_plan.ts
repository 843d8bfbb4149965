/**
 * Where each embedding table lives in a distributed run (issue 20), decided the same way on every
 * rank from the tables, the world size and TorchEasyRec's sharding constraints:
 * - `table_wise` (the default with several ranks): the table lives on one rank, which looks up
 *   and updates it for the whole global batch (TorchRec's table-wise sharding);
 * - `row_wise`: the table is cut into blocks of ceil(rows / W) rows, one per rank (TorchRec's
 *   layout); chosen when a constraint allows row_wise but not table_wise, or by default for a table
 *   over half the table memory of a rank (`memoryPerRank`) or one no rank has room left for —
 *   row-wise costs more communication than table-wise (every rank exchanges partial sums with
 *   every other), so it is kept for tables that need it;
 * - `data_parallel`: every rank holds the table and applies the global batch's update (chosen
 *   when a constraint allows data_parallel but neither of the others);
 * - table_row_wise alone: not supported yet (a message naming the field); column-wise types are
 *   refused by validation (sharding.ts).
 * Co-located tables (a deep table and its `_wide` columns in the same rows) follow their host.
 * Table-wise units are placed greedily, largest lookup cost first, on the least-loaded rank
 * (TorchRec's greedy partitioner, one proposal), after every rank got its share of the row-wise
 * ones; ties go by bytes, then name, then rank, so the plan is a function of its inputs and every
 * rank computes the same one.
 */
import * as os from 'node:os';
import { type EasyRecConfig, type FeatureSharding, formatBytes, shardingConstraints } from '@tsrec/config';
import type { EmbeddingCollectionSpec } from '@tsrec/models';
import type { SparseOptimizerSpec, SparseOptimizerType } from '@tsrec/native';

import { tableBytes } from './memory_budget';
import { buildModel } from './model_setup';
import type { TablePlace } from './sharded_collection';
import { UsageError } from './usage_error';

/** The placements tsrec builds. */
export type Placement = 'data_parallel' | 'table_wise' | 'row_wise';

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
  /** The rank holding a table-wise table; null for data_parallel and row_wise. */
  rank: number | null;
  /** The host table of a co-located table (placed with it). */
  host: string | null;
  /** Why this placement (the constraint's path, or the default). */
  reason: string;
}

/** Where a placed table lives, as a sharded collection takes it: a rank, every rank, or row blocks. */
export function tablePlace(t: Pick<TablePlacement, 'placement' | 'rank'>): TablePlace {
  if (t.placement === 'row_wise') return 'rows';
  return t.rank ?? 'all';
}

/** Every table's placement at a world size. */
export interface ShardingPlan {
  worldSize: number;
  tables: TablePlacement[];
}

const ALL_TYPES = ['data_parallel', 'table_wise', 'row_wise'];

/**
 * Places the tables of a model's collections, all at once (the rule for row-wise compares a table
 * with all of them). With one rank every table is whole in the process (placement data_parallel,
 * nothing to exchange).
 */
export class ShardingPlanner {
  private readonly load: number[];
  private readonly held: number[];
  private readonly placed: TablePlacement[] = [];
  private readonly byFeature: Map<string, FeatureSharding>;

  /**
   * `constraints`: each constrained sparse feature's effective constraint (`shardingConstraints(config)`);
   * `memoryPerRank`: bytes of tables (with optimizer state) one rank may hold (default: no limit).
   */
  constructor(
    readonly worldSize: number,
    private readonly optimizer: SparseOptimizerType,
    constraints: readonly FeatureSharding[] = [],
    readonly memoryPerRank = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(worldSize) || worldSize < 1)
      throw new RangeError(`Expected an integer world size >= 1 but received ${worldSize}`);
    this.load = new Array(worldSize).fill(0);
    this.held = new Array(worldSize).fill(0);
    this.byFeature = new Map(constraints.map((c) => [c.feature, c]));
  }

  /** The placement of every table of the collections (by collection, in each spec's table order). */
  place(collections: readonly { key: string; spec: EmbeddingCollectionSpec }[]): TablePlacement[] {
    // Units: a table with the tables co-located in its rows.
    const units = collections.flatMap(({ key, spec }) => {
      const hostOf = (name: string) => spec.tables.find((t) => t.name === name)?.coLocateWith ?? name;
      return spec.tables
        .filter((t) => !t.coLocateWith)
        .map((host) => {
          const tables = spec.tables.filter((t) => t.name === host.name || t.coLocateWith === host.name);
          const readers = spec.features.filter((f) => hostOf(f.table) === host.name);
          const dims = tables.reduce((a, t) => a + t.dim, 0);
          return {
            key,
            host,
            tables,
            readers,
            cost: Math.max(1, readers.length) * dims,
            bytes: tables.reduce((a, t) => a + tableBytes(t, this.optimizer), 0),
          };
        });
    });
    const out = new Map<string, TablePlacement>();
    const id = (key: string, table: string) => `${key}\u0000${table}`;
    const budget = this.memoryPerRank;
    const gib = (b: number) => formatBytes(b);
    const decided = units.map((u) => {
      const { types, reason } = this.allowed(u.readers);
      let placement: Placement;
      let why = reason;
      if (this.worldSize === 1) placement = 'data_parallel';
      else if (types.includes('row_wise') && !types.includes('table_wise')) placement = 'row_wise';
      else if (types.includes('row_wise') && u.bytes > budget / 2 && u.host.rows >= this.worldSize) {
        placement = 'row_wise';
        if (reason === 'default')
          why = `default: ${gib(u.bytes)}, over half the ${gib(budget)} of tables a rank may hold`;
      } else if (types.includes('table_wise')) placement = 'table_wise';
      else if (types.includes('data_parallel')) placement = 'data_parallel';
      else
        throw new UsageError(
          `Expected the sharding constraints of table '${u.host.name}' (collection '${u.key}'; ${reason}) to allow table_wise, row_wise or data_parallel at ${this.worldSize} ranks, but they ${types.length ? `allow only ${types.join(', ')}` : 'have no type in common'} — add one of them to the list or run one process`,
        );
      return { u, placement, reason: why, types };
    });
    const fixed = (d: (typeof decided)[number]) => {
      for (const t of d.u.tables) out.set(id(d.u.key, t.name), this.entry(d.u.key, t, d.placement, null, d.reason));
      for (let r = 0; r < this.worldSize; r++) {
        this.held[r] += d.placement === 'row_wise' ? d.u.bytes / this.worldSize : d.u.bytes;
        if (d.placement === 'row_wise') this.load[r] += d.u.cost / this.worldSize;
      }
    };
    for (const d of decided) if (d.placement !== 'table_wise') fixed(d);
    const order = (a: (typeof units)[number], b: (typeof units)[number]) =>
      b.cost - a.cost ||
      b.bytes - a.bytes ||
      (id(a.key, a.host.name) < id(b.key, b.host.name) ? -1 : id(a.key, a.host.name) > id(b.key, b.host.name) ? 1 : 0);
    const tableWise = decided.filter((d) => d.placement === 'table_wise').sort((a, b) => order(a.u, b.u));
    for (const d of tableWise) {
      // The least-loaded rank (lookup cost, then bytes, then rank) with room for the table.
      let best = -1;
      for (let r = 0; r < this.worldSize; r++) {
        if (this.held[r] + d.u.bytes > budget) continue;
        if (
          best < 0 ||
          this.load[r] < this.load[best] ||
          (this.load[r] === this.load[best] && this.held[r] < this.held[best])
        )
          best = r;
      }
      if (best < 0) {
        if (!d.types.includes('row_wise'))
          throw new UsageError(
            `Expected table '${d.u.host.name}' (collection '${d.u.key}', ${gib(d.u.bytes)} with optimizer state) to fit on a rank but no rank has room left in its ${gib(budget)} for tables (${d.reason === 'default' ? 'allow' : `${d.reason}: add`} row_wise, use more ranks, or set TSREC_SHARD_MEMORY_GB)`,
          );
        fixed({ ...d, placement: 'row_wise', reason: `no rank has room for it whole (${gib(budget)} each)` });
        continue;
      }
      this.load[best] += d.u.cost;
      this.held[best] += d.u.bytes;
      for (const t of d.u.tables) out.set(id(d.u.key, t.name), this.entry(d.u.key, t, 'table_wise', best, d.reason));
    }
    const most = Math.max(...this.held);
    if (this.worldSize > 1 && most > budget)
      throw new UsageError(
        `Expected the tables to fit in ${gib(budget)} per rank but a rank would hold ${gib(most)} (data-parallel tables are on every rank): use more ranks, allow row_wise, or set TSREC_SHARD_MEMORY_GB`,
      );
    const result = collections.flatMap(({ key, spec }) => spec.tables.map((t) => out.get(id(key, t.name))!));
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

  /** What the constraints of a unit's readers allow (all types without constraints), and where that comes from. */
  private allowed(readers: readonly { name: string }[]): { types: string[]; reason: string } {
    let types: string[] | null = null;
    const paths: string[] = [];
    for (const f of readers) {
      const c = this.byFeature.get(f.name);
      if (!c) continue;
      types = (types ?? c.types).filter((t) => c.types.includes(t));
      if (!paths.includes(c.path)) paths.push(c.path);
    }
    return { types: types ?? ALL_TYPES, reason: paths.length ? paths.join(', ') : 'default' };
  }
}

/**
 * Bytes of tables one rank may hold: TSREC_SHARD_MEMORY_GB when set, else 85% of this host's
 * memory shared by the `localRanks` on it (TorchEasyRec keeps the same 15% in reserve). A property
 * of the host, not of the moment, so that ranks on alike hosts plan alike (the trainer checks that
 * every rank made the same plan).
 */
export function shardMemoryPerRank(localRanks: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = env.TSREC_SHARD_MEMORY_GB;
  if (v !== undefined && v !== '') {
    const gb = Number(v);
    if (!Number.isFinite(gb) || gb <= 0) throw new UsageError(`Expected TSREC_SHARD_MEMORY_GB > 0 but received '${v}'`);
    return gb * 2 ** 30;
  }
  return Math.floor((os.totalmem() * 0.85) / Math.max(1, localRanks));
}

/**
 * The plan of a config at `worldSize` ranks with `memoryPerRank` bytes of tables each: the model
 * is built once with one-row tables to learn its collections (nothing of their real size is
 * allocated), then every table is placed.
 */
export function planSharding(
  config: EasyRecConfig,
  worldSize: number,
  sparse: SparseOptimizerSpec,
  memoryPerRank = Number.POSITIVE_INFINITY,
): ShardingPlan {
  const collections: { key: string; spec: EmbeddingCollectionSpec }[] = [];
  buildModel(config, {
    sparseOptimizer: sparse,
    shapesOnly: (spec, _role, key) => collections.push({ key, spec }),
  }).dispose();
  const planner = new ShardingPlanner(worldSize, sparse.type, shardingConstraints(config), memoryPerRank);
  planner.place(collections);
  return planner.plan;
}

/** Per rank: the tables it holds (row-wise: its block) and their bytes (data-parallel tables on every rank). */
export function rankLoads(plan: ShardingPlan): { tables: number; bytes: number }[] {
  const out = Array.from({ length: plan.worldSize }, () => ({ tables: 0, bytes: 0 }));
  for (const t of plan.tables)
    for (let r = 0; r < plan.worldSize; r++) {
      if (t.placement === 'row_wise') {
        const rows = Math.max(
          0,
          Math.min(t.rows, (r + 1) * Math.ceil(t.rows / plan.worldSize)) - r * Math.ceil(t.rows / plan.worldSize),
        );
        if (rows === 0) continue;
        out[r].tables++;
        out[r].bytes += (t.bytes / t.rows) * rows;
      } else if (t.rank === null || t.rank === r) {
        out[r].tables++;
        out[r].bytes += t.bytes;
      }
    }
  return out;
}

/** The plan as rank 0 prints it: one line per rank, then the data-parallel tables. */
export function formatShardingPlan(plan: ShardingPlan): string[] {
  if (plan.worldSize === 1) return ['sharding: one process, every table whole'];
  const loads = rankLoads(plan);
  const tw = plan.tables.filter((t) => t.placement === 'table_wise');
  const rw = plan.tables.filter((t) => t.placement === 'row_wise');
  const dp = plan.tables.filter((t) => t.placement === 'data_parallel');
  const name = (t: TablePlacement) => (t.collection === 'deep' ? t.table : `${t.collection}/${t.table}`);
  const list = (ts: TablePlacement[]) =>
    ts.length > 8 ? `${ts.slice(0, 8).map(name).join(', ')}, … (${ts.length})` : ts.map(name).join(', ') || 'none';
  const lines = [
    `sharding: ${tw.length} table-wise, ${rw.length} row-wise and ${dp.length} data-parallel tables over ${plan.worldSize} ranks`,
  ];
  for (let r = 0; r < plan.worldSize; r++)
    lines.push(
      `  rank ${r}: ${loads[r].tables} tables, ${formatBytes(loads[r].bytes)} with optimizer state; table-wise: ${list(tw.filter((t) => t.rank === r))}`,
    );
  if (rw.length) {
    const byReason = new Map<string, TablePlacement[]>();
    for (const t of rw) if (!t.host) byReason.set(t.reason, [...(byReason.get(t.reason) ?? []), t]);
    lines.push(
      `  row-wise (blocks of ceil(rows / ${plan.worldSize}) rows on every rank): ${[...byReason]
        .map(([reason, ts]) => `${list(ts)} (${reason})`)
        .join('; ')}`,
    );
  }
  if (dp.length) lines.push(`  every rank (data_parallel): ${list(dp)}`);
  return lines;
}
