/**
 * The model of a distributed job (issue 20): the sharding plan of the config at the job's world
 * size, each rank's part of every collection, and the wrapper that moves a collection's data between
 * the ranks — a ShardedCollection where some table is table-wise or row-wise, a ReplicatedCollection
 * where all are data-parallel. One process: `buildModel` as always.
 */
import { type EasyRecConfig, formatLocation, shardingProblems, sourceLocationOf } from '@tsrec/config';
import type { Communicator, SparseOptimizerSpec } from '@tsrec/native';

import { ReplicatedCollection } from './distributed';
import { buildModel, type ModelSetup } from './model_setup';
import { localSpec, ShardedCollection, type TablePlace } from './sharded_collection';
import { planSharding, type ShardingPlan, shardMemoryPerRank, tablePlace } from './sharding_plan';
import { UsageError } from './usage_error';

/** A model built for the ranks of a job. */
export interface DistributedSetup {
  setup: ModelSetup;
  /** Null in one process. */
  plan: ShardingPlan | null;
  /** The collections that synchronize after each training step, in creation order. */
  synced: (ReplicatedCollection | ShardedCollection)[];
  /** Those whose batches must be prepared (ids to the ranks holding them) before each forward. */
  sharded: ShardedCollection[];
}

/**
 * Builds the model of `config` for rank `comm.rank` of `comm.size`; sharding constraints that
 * cannot be met are a UsageError naming the field and its place in the config.
 */
export function buildDistributedModel(
  config: EasyRecConfig,
  comm: Pick<Communicator, 'rank' | 'size'> & { localSize?: number },
  options: { sparseOptimizer?: SparseOptimizerSpec; seed?: number } = {},
): DistributedSetup {
  if (comm.size === 1) return { setup: buildModel(config, options), plan: null, synced: [], sharded: [] };
  const problems = shardingProblems(config, comm.size);
  if (problems.length > 0)
    throw new UsageError(
      problems
        .map((p) => {
          const loc = sourceLocationOf(config, p.path);
          return `${p.path}: ${p.message}${loc ? ` (${formatLocation(loc)})` : ''}`;
        })
        .join('; '),
    );
  const plan = planSharding(
    config,
    comm.size,
    options.sparseOptimizer ?? { type: 'sgd' },
    shardMemoryPerRank(comm.localSize ?? 1),
  );
  const synced: DistributedSetup['synced'] = [];
  const sharded: ShardedCollection[] = [];
  // Each collection's places, made once (buildModel asks for the local part, then for the wrapper).
  const made = new Map<string, Map<string, TablePlace>>();
  const placesOf = (key: string, spec: { tables: { name: string }[] }): Map<string, TablePlace> => {
    const known = made.get(key);
    if (known) return known;
    const mine = plan.tables.filter((t) => t.collection === key);
    if (mine.map((t) => t.table).join('\u0000') !== spec.tables.map((t) => t.name).join('\u0000'))
      throw new Error(`Expected the tables of collection '${key}' to be those of the sharding plan but they differ`);
    const places = new Map(mine.map((t) => [t.table, tablePlace(t)]));
    made.set(key, places);
    return places;
  };
  const setup = buildModel(config, {
    ...options,
    localSpec: (spec, key) => localSpec(spec, placesOf(key, spec), comm.size, comm.rank),
    wrapCollection: (c, { spec, key }) => {
      const places = placesOf(key, spec);
      if ([...places.values()].every((p) => p === 'all')) {
        const r = new ReplicatedCollection(c!, comm.size);
        synced.push(r);
        return r;
      }
      const s = new ShardedCollection(spec, c, places, comm);
      synced.push(s);
      sharded.push(s);
      return s;
    },
  });
  return { setup, plan, synced, sharded };
}
