/**
 * `tsrec plan --world_size N`: what a distributed run of a config would need, without running it
 * (nothing of the tables' real size is allocated): the sharding plan, per-rank memory, and the
 * bytes rank 0 sends per training step by collective, with a communication time from a latency /
 * bandwidth model — so a cluster can be sized before it is bought. The placement is the trainer's
 * (sharding_plan.ts) and the formulas those of its collections (sharded_collection.ts for
 * table-wise tables, distributed.ts for collections whose tables are all data-parallel);
 * `npx nx run trainer:bench-dist` measures the same counters at np 2 (and the dist tests at np 4)
 * to check them.
 */
import type { EasyRecConfig } from '@tsrec/config';
import { formatBytes, shardingConstraints } from '@tsrec/config';
import type { EmbeddingCollectionSpec } from '@tsrec/models';
import { collectionLayout } from '@tsrec/native';

import { bucketFloats } from './distributed';
import { buildModel } from './model_setup';
import { tableBytes } from './memory_budget';
import { rowBlock } from './sharded_collection';
import {
  formatShardingPlan,
  rankLoads,
  type ShardingPlan,
  ShardingPlanner,
  type TablePlacement,
  shardMemoryPerRank,
  tablePlace,
} from './sharding_plan';
import { sparseOptimizerFromConfig } from './sparse_optimizer';

/** Options of `planDistributed`. */
export interface PlanOptions {
  worldSize: number;
  /** Rows per rank per step (default data_config.batch_size). */
  batchSize?: number;
  /** Mean ids per bag of every sparse feature (default 1: one id per feature and sample). */
  bagSize?: number;
  /** Bytes of one id and one offset as sent (4: int32 ids; 8 when ids need int64). */
  indexBytes?: number;
  /** Link bandwidths to predict with, GB/s (default 12.5 and 1.25: 100 and 10 Gbit/s). */
  bandwidthsGBps?: number[];
  /** Per-message latency, microseconds (default 5). */
  latencyUs?: number;
  /** Bytes of tables one rank may hold (default TSREC_SHARD_MEMORY_GB, else 85% of this host's memory). */
  memoryPerRankBytes?: number;
}

/** One collective of a step: what one rank sends, and how many peer messages it takes. */
export interface PlannedCollective {
  name: string;
  kind: 'allreduce' | 'allgather' | 'alltoall' | 'broadcast';
  bytesPerRank: number;
  /** Messages one rank sends (for the latency term). */
  messages: number;
  formula: string;
}

export interface DistributedPlan {
  model: string;
  worldSize: number;
  batchSize: number;
  /** Where each table lives. */
  sharding: ShardingPlan;
  tables: { name: string; rows: number; dim: number; bytes: number; collection: string }[];
  /** All tables with their optimizer state (the sum over the ranks of what each holds, data-parallel tables once). */
  tableBytes: number;
  /** Tables with optimizer state on the rank holding the most. */
  tableBytesPerRank: number;
  /** Bytes of tables a rank may hold (what the placement assumed). */
  tableBudgetPerRank: number;
  denseParameters: number;
  denseBytes: number;
  memoryPerRankBytes: number;
  collectives: PlannedCollective[];
  bytesPerStepPerRank: number;
  /** Predicted communication seconds per step, per bandwidth (GB/s). */
  commSeconds: Record<string, number>;
}

/** Dense optimizer state per parameter (floats) by TorchEasyRec optimizer. */
function denseStates(config: EasyRecConfig): number {
  const c = config.trainConfig?.denseOptimizer?.optimizer.case;
  if (c === 'adamOptimizer' || c === 'adamwOptimizer') return 2;
  if (c === 'sgdOptimizer') return 0;
  return 1;
}

/** The plan of `config` at `worldSize` ranks (synchronous replicas: every rank holds every table). */
export function planDistributed(config: EasyRecConfig, o: PlanOptions): DistributedPlan {
  const W = o.worldSize;
  if (!Number.isInteger(W) || W < 1) throw new RangeError(`Expected an integer world size >= 1 but received ${W}`);
  const B = o.batchSize ?? config.dataConfig?.batchSize ?? 0;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`Expected a batch size >= 1 but received ${B}`);
  const L = o.bagSize ?? 1;
  const s = o.indexBytes ?? 4;
  const sparse = sparseOptimizerFromConfig(config.trainConfig?.sparseOptimizer);
  const budget = o.memoryPerRankBytes ?? shardMemoryPerRank(1);
  const planner = new ShardingPlanner(W, sparse.spec.type, shardingConstraints(config), budget);
  const specs: { spec: EmbeddingCollectionSpec; key: string; role: string; placed: TablePlacement[] }[] = [];
  const setup = buildModel(config, {
    sparseOptimizer: sparse.spec,
    shapesOnly: (spec, role, key) => specs.push({ spec, key, role, placed: [] }),
  });
  const all = planner.place(specs);
  for (const c of specs) c.placed = all.filter((t) => t.collection === c.key);
  try {
    const tables: DistributedPlan['tables'] = [];
    const collectives: PlannedCollective[] = [];
    const peers = W - 1;
    collectives.push({
      name: 'step agreement (has a batch, epoch checkpoint)',
      kind: 'allreduce',
      bytesPerRank: Math.floor((2 * peers * 16) / W),
      messages: 2 * peers,
      formula: '2(W−1)/W · 16 B',
    });
    for (const { spec, key, placed } of specs) {
      for (const t of spec.tables)
        tables.push({
          name: t.name,
          rows: t.rows,
          dim: t.dim,
          bytes: tableBytes(t, sparse.spec.type),
          collection: key,
        });
      const layout = collectionLayout({ tables: spec.tables, features: spec.features });
      if (placed.every((t) => t.placement === 'data_parallel'))
        collectives.push(...replicatedCollectives(key, layout, B, L, s, peers));
      else collectives.push(...shardedCollectives(key, layout, placed, W, B, L, s));
    }
    const P = setup.model.denseParameterCount;
    collectives.push({
      name: 'dense gradients, loss, batch size',
      kind: 'allreduce',
      bytesPerRank: Math.floor((2 * peers * 4 * (P + 2)) / W),
      messages: 2 * peers * Math.ceil((P + 2) / bucketFloats()),
      formula: `2(W−1)/W · 4 · (P + 2) with P=${P}, in ${Math.ceil((P + 2) / bucketFloats())} bucket(s) of ≤ ${formatBytes(bucketFloats() * 4)}`,
    });
    const nonTrainable = setup
      .namedVariables()
      .filter(([, v]) => !v.trainable)
      .reduce((a, [, v]) => a + v.size, 0);
    if (nonTrainable > 0)
      collectives.push({
        name: 'non-trainable variables from rank 0',
        kind: 'broadcast',
        bytesPerRank: peers * 4 * nonTrainable,
        messages: peers,
        formula: `(W−1) · 4 · ${nonTrainable} (rank 0)`,
      });
    if (W === 1) collectives.length = 0;
    const sharding = planner.plan;
    const tableTotal = tables.reduce((a, t) => a + t.bytes, 0);
    const perRank = Math.max(...rankLoads(sharding).map((l) => l.bytes));
    const denseBytes = P * 4 * (1 + denseStates(config)) + nonTrainable * 4;
    const bytes = collectives.reduce((a, c) => a + c.bytesPerRank, 0);
    const alpha = (o.latencyUs ?? 5) * 1e-6;
    const commSeconds: Record<string, number> = {};
    for (const bw of o.bandwidthsGBps ?? [12.5, 1.25])
      commSeconds[String(bw)] = collectives.reduce((a, c) => a + c.messages * alpha + c.bytesPerRank / (bw * 1e9), 0);
    return {
      model: config.modelConfig?.model.case ?? 'model',
      worldSize: W,
      batchSize: B,
      sharding,
      tables,
      tableBytes: tableTotal,
      tableBytesPerRank: perRank,
      tableBudgetPerRank: budget,
      denseParameters: P,
      denseBytes,
      memoryPerRankBytes: perRank + denseBytes,
      collectives,
      bytesPerStepPerRank: bytes,
      commSeconds,
    };
  } finally {
    setup.dispose();
  }
}

/** A collection whose tables are all data-parallel (distributed.ts's ReplicatedCollection): three all-gathers. */
function replicatedCollectives(
  key: string,
  layout: ReturnType<typeof collectionLayout>,
  B: number,
  L: number,
  s: number,
  peers: number,
): PlannedCollective[] {
  const F = layout.features.length;
  return [
    {
      name: `'${key}' batch header`,
      kind: 'allgather',
      bytesPerRank: 48 * peers,
      messages: peers,
      formula: '(W−1) · 48 B',
    },
    {
      name: `'${key}' ids and offsets`,
      kind: 'allgather',
      bytesPerRank: ((F * B + 1) * s + F * B * L * s) * peers,
      messages: peers,
      formula: `(W−1) · [(F·B+1)·${s} + F·B·L·${s}] with F=${F}, L=${L}`,
    },
    ...layout.pooledDims.map(
      (d, o): PlannedCollective => ({
        name: `'${key}' dL/dpooled (output ${o})`,
        kind: 'allgather',
        bytesPerRank: B * d * 4 * peers,
        messages: peers,
        formula: `(W−1) · B·${d}·4`,
      }),
    ),
  ];
}

/**
 * A collection with table-wise or row-wise tables (sharded_collection.ts), as rank 0 sends: the
 * header; to each rank the bag lengths and ids of the features it holds (a row-wise feature's ids
 * in that rank's rows: a share rows_q / rows of them, ids taken as spread evenly over the rows);
 * rank 0's pooled columns (row-wise: partial sums) for the others' samples; and dL/dpooled of each
 * rank's columns (its table-wise and row-wise ones and the data-parallel ones) with an 8-byte
 * learning rate.
 */
function shardedCollectives(
  key: string,
  layout: ReturnType<typeof collectionLayout>,
  placed: readonly TablePlacement[],
  W: number,
  B: number,
  L: number,
  s: number,
): PlannedCollective[] {
  const place = new Map(placed.map((t) => [t.table, tablePlace(t)]));
  const features = layout.features.map((f) => {
    const t = layout.tables[f.table];
    return { p: place.get(t.name)!, rows: t.rows, cols: f.members.reduce((x, m) => x + layout.tables[m.table].dim, 0) };
  });
  /** The share of a feature's ids rank q receives (0 when it holds none of its table). */
  const share = (q: number, f: (typeof features)[number]) => {
    if (f.p === 'rows') return rowBlock(f.rows, W, q).rows / f.rows;
    return f.p === 'all' || f.p === q ? 1 : 0;
  };
  const others = Array.from({ length: W - 1 }, (_, i) => i + 1);
  let lengths = 0;
  let idShare = 0;
  let gradCols = 0;
  for (const q of others)
    for (const f of features)
      if (share(q, f) > 0) {
        lengths++;
        idShare += share(q, f);
        gradCols += f.cols;
      }
  const mine = features.filter((f) => f.p !== 'all' && share(0, f) > 0).reduce((a, f) => a + f.cols, 0);
  return [
    {
      name: `'${key}' batch header`,
      kind: 'alltoall',
      bytesPerRank: 24 * (W - 1),
      messages: W - 1,
      formula: '(W−1) · 24 B',
    },
    {
      name: `'${key}' ids to the ranks holding their rows`,
      kind: 'alltoall',
      bytesPerRank: Math.round(B * (4 * lengths + L * s * idShare)),
      messages: W - 1,
      formula: `B · (4 · ${lengths} bag lengths + L·${s} · ${idShare.toFixed(2)} features' ids) over ranks 1…W−1, L=${L}`,
    },
    {
      name: `'${key}' pooled columns back`,
      kind: 'alltoall',
      bytesPerRank: (W - 1) * B * mine * 4,
      messages: W - 1,
      formula: `(W−1) · B · ${mine} · 4 (rank 0's table-wise columns and row-wise partial sums)`,
    },
    {
      name: `'${key}' dL/dpooled to the ranks holding their rows`,
      kind: 'alltoall',
      bytesPerRank: (W - 1) * 8 + B * gradCols * 4,
      messages: W - 1,
      formula: `(W−1) · 8 + B · ${gradCols} · 4 (the columns ranks 1…W−1 hold)`,
    },
  ];
}

/** The plan as `tsrec plan` prints it. */
export function formatPlan(p: DistributedPlan): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const lines = [
    `plan: ${p.model} at world size ${p.worldSize}, batch_size ${p.batchSize} per rank (${p.batchSize * p.worldSize} rows per step)`,
    ...formatShardingPlan(p.sharding),
    `memory per rank (the most loaded): ${formatBytes(p.memoryPerRankBytes)} = its tables with optimizer state ${formatBytes(p.tableBytesPerRank)} (of ${formatBytes(p.tableBytes)} in all; ${formatBytes(p.tableBudgetPerRank)} allowed per rank, --memory_per_rank_gb) + dense ${formatBytes(p.denseBytes)} (${p.denseParameters.toLocaleString('en-US')} parameters with optimizer state), plus a few batches`,
  ];
  const largest = [...p.tables].sort((a, b) => b.bytes - a.bytes).slice(0, 3);
  if (largest.length)
    lines.push(
      `largest tables: ${largest.map((t) => `${t.name} ${t.rows.toLocaleString('en-US')}×${t.dim} (${formatBytes(t.bytes)})`).join(', ')}`,
    );
  if (p.worldSize === 1) {
    lines.push('communication: none (one process)');
    return lines.join('\n');
  }
  lines.push('bytes rank 0 sends per training step:');
  for (const c of p.collectives)
    lines.push(`  ${c.kind.padEnd(9)} ${mib(c.bytesPerRank).padStart(12)}  ${c.name}  [${c.formula}]`);
  lines.push(`  total     ${mib(p.bytesPerStepPerRank).padStart(12)}`);
  lines.push(
    `predicted communication per step: ${Object.entries(p.commSeconds)
      .map(([bw, t]) => `${(t * 1000).toFixed(2)} ms at ${bw} GB/s`)
      .join(', ')} (5 µs per message; add compute: each rank looks up and updates its tables for the global batch)`,
  );
  return lines.join('\n');
}
