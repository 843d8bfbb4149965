import type { EasyRecConfig } from '@tsrec/config';
import { type EmbeddingInit, type FeatureInfo, listFeatures, parseInitFn } from '@tsrec/config';
import { FeatureEngine, fromPipelineConfig } from '@tsrec/data';
import {
  createModel,
  type EmbeddingCollectionSpec,
  type ModelContext,
  type ModelFeature,
  type PooledEmbeddingCollection,
  type TrainableModel,
} from '@tsrec/models';
import { EmbeddingCollection, type SparseOptimizerSpec, type SparseOptimizerType, type TableSpec } from '@tsrec/native';
import type * as tf from '@tensorflow/tfjs-core';

import { MemoryBudget } from './memory_budget';

/** One embedding collection a model asked for, with the role it gave ('deep', 'wide', …). */
export interface CollectionEntry {
  /** Unique key in checkpoints: the role, suffixed `_<n>` when a role repeats. */
  key: string;
  role: string;
  /**
   * The tables of it this process holds: all of them in one process; in a sharded run the ones
   * placed here, or null when none are.
   */
  collection: EmbeddingCollection | null;
  /** What the model asked for (every table, wherever it lives). */
  spec: EmbeddingCollectionSpec;
  /** The first logical row of each table held as a row-wise block (absent: the table is whole here). */
  firstRows: ReadonlyMap<string, number>;
}

/** A model built from a pipeline config, with the collections holding its tables. */
export interface ModelSetup {
  model: TrainableModel;
  collections: CollectionEntry[];
  features: ModelFeature[];
  /** The sparse learning rate the fused backward reads; the trainer sets it each step. */
  sparseLr: { value: number };
  /** The fused sparse optimizer of every collection. */
  sparseOptimizer: SparseOptimizerType;
  /** Dense variables by stable name (checkpoints, optimizer state). */
  namedVariables(): Array<[string, tf.Variable]>;
  dispose(): void;
}

/** Options of `buildModel`. */
export interface BuildModelOptions {
  /** The fused sparse optimizer (training); default plain SGD without state (eval, predict). */
  sparseOptimizer?: SparseOptimizerSpec;
  /** Seed of table and dense initialisation (default 0). */
  seed?: number;
  /**
   * Caps every table at this many rows (checks that a config builds, e.g. the TorchEasyRec
   * conformance report, without allocating its production-size tables). Training never sets it.
   */
  maxTableRows?: number;
  /**
   * Distributed placement: the part of each collection this process holds — its tables, each with
   * its index in the whole collection as `initStream` (a row-wise block also with `initFirstRow`,
   * `initRows`), the features reading them, the first row of each block — or null when it holds
   * none; absent: the whole collection. Initial values are those of the whole collection.
   */
  localSpec?: (
    spec: EmbeddingCollectionSpec,
    key: string,
    role: string,
  ) => {
    tables: (TableSpec & { initStream: number })[];
    features: EmbeddingCollectionSpec['features'];
    firstRows: ReadonlyMap<string, number>;
  } | null;
  /**
   * What the model receives for each collection (default: the collection itself); distributed
   * training hands it a wrapper that synchronizes the sparse update across ranks (`collection`:
   * the local tables, null when this process holds none).
   */
  wrapCollection?: (
    collection: EmbeddingCollection | null,
    info: { spec: EmbeddingCollectionSpec; key: string; role: string },
  ) => PooledEmbeddingCollection;
  /**
   * Shapes only (planning): each collection's spec, with its real table sizes, is given here and
   * the tables are allocated with one row each (nothing of their real size is allocated).
   */
  shapesOnly?: (spec: EmbeddingCollectionSpec, role: string, key: string) => void;
}

/** The features as models see them; table sizes of vocab_file features come from the feature engine. */
export function modelFeatures(config: EasyRecConfig): ModelFeature[] {
  const infos = listFeatures(config);
  let rowsByTable: Map<string, number> | null = null;
  const engineRows = (table: string): number | undefined => {
    if (!rowsByTable) {
      const engine = new FeatureEngine(fromPipelineConfig(config, { labels: false }));
      rowsByTable = new Map(engine.tables().map((t) => [t.name, t.rows]));
    }
    return rowsByTable.get(table);
  };
  return infos.map((f) => ({
    name: f.name,
    isSparse: f.isSparse,
    embeddingDim: f.embeddingDim,
    tableName: f.tableName,
    numRows: f.numRows ?? (f.isSparse ? engineRows(f.tableName) : undefined),
    valueDim: f.message.valueDim || 1,
    pooling: f.pooling,
    init: initOf(f),
  }));
}

/** A feature's table initialisation from its init_fn (validation has checked the expression). */
function initOf(f: FeatureInfo): EmbeddingInit | undefined {
  if (!f.message.initFn) return undefined;
  const init = parseInitFn(f.message.initFn);
  if ('error' in init) throw new Error(`${init.error} for ${f.path}.init_fn '${f.message.initFn}'`);
  return init;
}

/**
 * Builds the model of `config.model_config` with native CPU embedding collections. Tables are
 * seeded from (seed, collection order), dense layers from the seed; the same config and seed
 * give the same initial model in every process.
 */
export function buildModel(config: EasyRecConfig, options: BuildModelOptions = {}): ModelSetup {
  if (!config.modelConfig) throw new Error('Expected a model_config in the pipeline config but received none');
  const seed = options.seed ?? 0;
  const cap = options.maxTableRows;
  const features = modelFeatures(config).map((f) =>
    cap !== undefined && f.numRows !== undefined && f.numRows > cap ? { ...f, numRows: cap } : f,
  );
  const collections: CollectionEntry[] = [];
  const budget = new MemoryBudget();
  const sparseLr = { value: 0 };
  const dc = config.dataConfig;
  const labelName = dc?.labelFields[0];
  if (!labelName) throw new Error('Expected at least one data_config.label_fields but received none');
  const ctx: ModelContext = {
    features,
    createEmbeddingCollection: (spec, role) => {
      const same = collections.filter((c) => c.role === role).length;
      const key = same === 0 ? role : `${role}_${same}`;
      const optimizer = options.sparseOptimizer ?? { type: 'sgd' as const };
      options.shapesOnly?.(spec, role, key);
      // Each table keeps its index in the whole collection as its init stream, so a process
      // holding part of it starts from the bits the whole collection would have.
      const part = options.localSpec
        ? options.localSpec(spec, key, role)
        : {
            tables: spec.tables.map((t, i) => ({ ...t, initStream: i })),
            features: spec.features,
            firstRows: new Map(),
          };
      const tables = (part?.tables ?? []).map((t) =>
        options.shapesOnly ? { ...t, rows: 1, initFirstRow: 0, initRows: undefined } : t,
      );
      if (!options.shapesOnly) budget.reserve(tables, optimizer.type);
      const collection =
        part && tables.length > 0
          ? new EmbeddingCollection({
              tables,
              features: part.features,
              optimizer,
              seed: seed * 1000 + collections.length + 1,
            })
          : null;
      collections.push({ key, role, collection, spec, firstRows: part?.firstRows ?? new Map() });
      if (options.wrapCollection) return options.wrapCollection(collection, { spec, key, role });
      if (!collection) throw new Error(`Expected the tables of collection '${key}' in this process but none are here`);
      return collection;
    },
    sparseLearningRate: () => sparseLr.value,
    labelName,
    sampleWeightName: dc?.sampleWeightFields[0] || undefined,
    seed,
  };
  let model: TrainableModel;
  try {
    model = createModel(config.modelConfig, ctx);
  } catch (e) {
    collections.forEach((c) => c.collection?.dispose());
    throw e;
  }
  return {
    model,
    collections,
    features,
    sparseLr,
    sparseOptimizer: options.sparseOptimizer?.type ?? 'sgd',
    namedVariables: () => model.namedVariables(),
    dispose: () => {
      model.dispose();
      collections.forEach((c) => c.collection?.dispose());
    },
  };
}
