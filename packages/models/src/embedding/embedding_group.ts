import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingInit } from '@tsrec/config';
import { FeatureGroupType, type FeatureGroupConfig } from '@tsrec/config';
import { markInputData } from '@tsrec/native';

import type { EmbeddingCollectionSpec, ModelBatch, ModelContext, ModelFeature } from '../models/model_context';
import { assembleColumns, concatColumns, type ColumnPick, wholeSources } from './select_columns';
import { SparseArch } from './sparse_arch';

/** The tensors of a forward pass, one per feature group. */
export interface GroupedFeatures {
  /** Group name → [B, Σ widths of its features], in the group's feature order. */
  groups: Record<string, tf.Tensor2D>;
  /**
   * Group name → column blocks whose concatenation is `groups[name]`, for the groups made of
   * whole blocks side by side (the dense features, then a collection's pooled embeddings, …).
   * Such a group's entry in `groups` is built (one concat) only when read: an MLP takes the
   * blocks directly (`Mlp.apply`), so neither the concat nor its gradient's split runs.
   */
  blocks: Record<string, tf.Tensor2D[]>;
}

interface GroupPlan {
  name: string;
  type: FeatureGroupType;
  features: ModelFeature[];
  dim: number;
}

/**
 * Turns feature groups into tensors (TorchEasyRec's EmbeddingGroup). DEEP groups read one
 * collection holding every sparse feature they use (one TBE call per batch) plus the batch's
 * dense columns; WIDE groups read tables `<table>_wide` with `wideEmbeddingDim` columns. The
 * collections come from the context's factory.
 *
 * When every WIDE feature's `_wide` table is read by exactly the features that read its deep
 * table (DeepFM, WideAndDeep: the same features in both), the `_wide` tables are co-located
 * with their deep tables in one collection (role `deep`): one random row access serves both
 * lookups, the backward sorts the ids once, and results are those of separate tables. The
 * deep columns are pooled output 0, the wide ones output 1. `TSREC_COLOCATE=0` (or
 * `coLocateWide: false`) keeps two collections (roles `deep` and `wide`).
 */
export class EmbeddingGroup {
  readonly deep: SparseArch | null;
  /** The arch of the WIDE groups: `deep` itself when the wide tables are co-located. */
  readonly wide: SparseArch | null;
  /** Pooled output of `wide` that holds the wide columns (1 when co-located, else 0). */
  readonly wideOutput: number;
  private readonly plans = new Map<string, GroupPlan>();
  private denseLayout: { key: string; offsets: Map<string, [number, number]>; width: number } | null = null;

  constructor(
    groups: readonly FeatureGroupConfig[],
    ctx: ModelContext,
    options: { wideEmbeddingDim?: number; wideInit?: EmbeddingInit; coLocateWide?: boolean } = {},
  ) {
    const byName = new Map(ctx.features.map((f) => [f.name, f]));
    const deepSparse: ModelFeature[] = [];
    const wideSparse: ModelFeature[] = [];
    for (const g of groups) {
      const name = g.groupName ?? '';
      if (this.plans.has(name))
        throw new Error(`Expected unique group_name in feature_groups but received '${name}' twice`);
      if (g.groupType !== FeatureGroupType.DEEP && g.groupType !== FeatureGroupType.WIDE) {
        throw new Error(
          `group_type ${FeatureGroupType[g.groupType]} of feature group '${name}' is not supported yet (DEEP and WIDE are)`,
        );
      }
      const feats = g.featureNames.map((n) => {
        const f = byName.get(n);
        if (!f)
          throw new Error(
            `Expected a feature defined in feature_configs for feature_names of group '${name}' but received '${n}'`,
          );
        return f;
      });
      const wide = g.groupType === FeatureGroupType.WIDE;
      let dim = 0;
      for (const f of feats) {
        if (wide && !f.isSparse)
          throw new Error(
            `Expected only sparse features in WIDE group '${name}' but received dense feature '${f.name}'`,
          );
        const list = wide ? wideSparse : deepSparse;
        if (f.isSparse && !list.includes(f)) list.push(f);
        dim += f.isSparse ? (wide ? (options.wideEmbeddingDim ?? 4) : f.embeddingDim) : (f.valueDim ?? 1);
      }
      this.plans.set(name, { name, type: g.groupType, features: feats, dim });
    }
    // Feature-config order is the batch's key order: a model using every sparse feature then
    // hands the batch to the kernel as is, without selecting (copying) keys.
    const order = new Map(ctx.features.map((f, i) => [f.name, i]));
    deepSparse.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    wideSparse.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const wideDim = options.wideEmbeddingDim ?? 4;
    const coLocate =
      (options.coLocateWide ?? process.env.TSREC_COLOCATE !== '0') && deepSparse.length > 0 && wideSparse.length > 0;
    const wideInit = options.wideInit;
    const together = coLocate ? coLocatedSpec(deepSparse, wideSparse, wideDim, wideInit, order) : null;
    const arch = (spec: EmbeddingCollectionSpec, role: 'deep' | 'wide') =>
      new SparseArch(ctx.createEmbeddingCollection(spec, role), {
        learningRate: ctx.sparseLearningRate,
        name: `${role}_sparse_arch`,
      });
    if (together) {
      this.deep = arch(together, 'deep');
      this.wide = this.deep;
      this.wideOutput = 1;
    } else {
      this.deep = deepSparse.length ? arch(collectionSpec(deepSparse, null), 'deep') : null;
      this.wide = wideSparse.length ? arch(collectionSpec(wideSparse, wideDim, wideInit), 'wide') : null;
      this.wideOutput = 0;
    }
  }

  /** Whether a group of this name exists. */
  has(name: string): boolean {
    return this.plans.has(name);
  }

  /** Width of a group's output. */
  groupDim(name: string): number {
    return this.plan(name).dim;
  }

  /** Features of a group, in order. */
  groupFeatures(name: string): readonly ModelFeature[] {
    return this.plan(name).features;
  }

  /** Variables the optimizer must see (the sparse arches' gradient anchors). */
  get variables(): tf.Variable[] {
    return [
      ...(this.deep?.trainableVariables ?? []),
      ...(this.wide && this.wide !== this.deep ? this.wide.trainableVariables : []),
    ];
  }

  /** Pools the batch (one call per collection) and assembles every group. */
  forward(batch: ModelBatch, training = false): GroupedFeatures {
    const pool = (arch: SparseArch | null) => {
      if (!arch) return null;
      const names = arch.collection.features.map((f) => f.name);
      const same = names.length === batch.sparse.keys.length && names.every((n, i) => n === batch.sparse.keys[i]);
      const sparse = same ? batch.sparse.toSparseBatch() : batch.sparse.select(names).toSparseBatch();
      return arch.forwardOutputs(sparse, { training });
    };
    const deepOut = pool(this.deep);
    const deepPooled = deepOut ? deepOut[0] : null;
    const widePooled =
      this.wide === this.deep ? (deepOut ? deepOut[this.wideOutput] : null) : (pool(this.wide)?.[0] ?? null);
    const needsDense = [...this.plans.values()].some(
      (p) => p.type === FeatureGroupType.DEEP && p.features.some((f) => !f.isSparse),
    );
    const dense = needsDense ? this.denseTensor(batch) : null;
    const groups: Record<string, tf.Tensor2D> = {};
    const blocks: Record<string, tf.Tensor2D[]> = {};
    for (const plan of this.plans.values()) {
      if (plan.type === FeatureGroupType.WIDE) {
        groups[plan.name] = this.wide!.select(
          widePooled!,
          plan.features.map((f) => f.name),
          this.wideOutput,
        );
        continue;
      }
      const sparseNames = plan.features.filter((f) => f.isSparse).map((f) => f.name);
      if (sparseNames.length === plan.features.length) {
        groups[plan.name] = this.deep!.select(deepPooled!, sparseNames);
        continue;
      }
      // Mixed or dense-only: the group's columns, in config order, from the pooled and dense blocks.
      const { sources, picks } = this.mixedPicks(plan, deepPooled, dense!, batch);
      const order = wholeSources(
        sources.map((s) => s.shape[1]),
        picks,
      );
      if (order && order.length > 1) {
        const parts = order.map((i) => sources[i]);
        blocks[plan.name] = parts;
        // Built on first read (in the caller's scope: read a group where its blocks are alive, as
        // models do inside predict), again if that tensor was disposed; assignable like the rest.
        let built: tf.Tensor2D | null = null;
        Object.defineProperty(groups, plan.name, {
          enumerable: true,
          configurable: true,
          get: () => {
            if (!built || built.isDisposed) built = concatColumns(parts);
            return built;
          },
          set: (t: tf.Tensor2D) => {
            built = t;
          },
        });
      } else {
        groups[plan.name] = assembleColumns(sources, picks);
      }
    }
    return { groups, blocks };
  }

  private mixedPicks(
    plan: GroupPlan,
    pooled: tf.Tensor2D | null,
    dense: tf.Tensor2D,
    batch: ModelBatch,
  ): { sources: tf.Tensor2D[]; picks: ColumnPick[] } {
    const layout = this.layoutOf(batch);
    const sources = pooled ? [pooled, dense] : [dense];
    const denseSource = pooled ? 1 : 0;
    const picks: ColumnPick[] = [];
    for (const f of plan.features) {
      if (f.isSparse) {
        for (const column of this.deep!.columnsOf([f.name])) picks.push({ source: 0, column });
      } else {
        const at = layout.offsets.get(f.name);
        if (!at)
          throw new Error(
            `Expected dense feature '${f.name}' of group '${plan.name}' in the batch's denseKeys (${[...layout.offsets.keys()].join(', ')})`,
          );
        for (let c = 0; c < at[1]; c++) picks.push({ source: denseSource, column: at[0] + c });
      }
    }
    return { sources, picks };
  }

  private denseTensor(batch: ModelBatch): tf.Tensor2D {
    const width = this.layoutOf(batch).width;
    const d = batch.dense;
    // Input data: the first layer's backward skips its input gradient (markInputData).
    return markInputData(
      tf.tensor2d(new Float32Array(d.buffer, d.byteOffset, d.length), [batch.batchSize, width], 'float32'),
    );
  }

  private layoutOf(batch: ModelBatch) {
    const key = `${batch.denseKeys.join('\u0000')}|${batch.denseDims.join(',')}`;
    if (this.denseLayout?.key !== key) {
      const offsets = new Map<string, [number, number]>();
      let at = 0;
      batch.denseKeys.forEach((k, i) => {
        offsets.set(k, [at, batch.denseDims[i]]);
        at += batch.denseDims[i];
      });
      this.denseLayout = { key, offsets, width: at };
    }
    return this.denseLayout;
  }

  private plan(name: string): GroupPlan {
    const p = this.plans.get(name);
    if (!p)
      throw new Error(
        `Expected a feature group named one of ${[...this.plans.keys()].join(', ')} but received '${name}'`,
      );
    return p;
  }

  /** Disposes the arches' variables (collections belong to the context). */
  dispose(): void {
    this.deep?.dispose();
    if (this.wide !== this.deep) this.wide?.dispose();
  }
}

/**
 * One collection for the DEEP and WIDE features with each `<table>_wide` co-located with its
 * deep table (output 1), or null when some wide table is read by other features than its deep
 * table (then the two cannot share rows). Features are in config order (the batch's).
 */
function coLocatedSpec(
  deep: ModelFeature[],
  wide: ModelFeature[],
  wideDim: number,
  wideInit: EmbeddingInit | undefined,
  order: Map<string, number>,
): EmbeddingCollectionSpec | null {
  const readers = (feats: ModelFeature[]) => {
    const m = new Map<string, string[]>();
    for (const f of feats) m.set(f.tableName, [...(m.get(f.tableName) ?? []), f.name]);
    return m;
  };
  const deepReaders = readers(deep);
  const wideReaders = readers(wide);
  const base = collectionSpec(deep, null);
  const tables: EmbeddingCollectionSpec['tables'] = [...base.tables];
  const standalone = new Set<string>();
  const wideSpec = collectionSpec(wide, wideDim, wideInit);
  for (const [table, names] of wideReaders) {
    const d = deepReaders.get(table);
    const w = wideSpec.tables.find((t) => t.name === `${table}_wide`)!;
    if (d === undefined) {
      // Only WIDE features read this table: a `_wide` table of its own in output 1.
      tables.push({ ...w, output: 1 });
      standalone.add(w.name);
      continue;
    }
    if (d.length !== names.length || !d.every((n) => names.includes(n))) return null;
    tables.push({ ...w, output: 1, coLocateWith: table });
  }
  const features = [...base.features, ...wideSpec.features.filter((f) => standalone.has(f.table))];
  features.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { tables, features };
}

/** The table fields of an initialisation (init_fn / wide_init_fn). */
function initFields(init: EmbeddingInit | undefined): { initMin?: number; initMax?: number; initValue?: number } {
  if (!init) return {};
  return init.kind === 'uniform' ? { initMin: init.low, initMax: init.high } : { initValue: init.value };
}

/**
 * Tables (shared through embedding_name) and features of one collection; `wideDim` set: the
 * `<table>_wide` tables of WIDE groups, initialised by `wideInit` (wide_init_fn).
 */
function collectionSpec(
  feats: ModelFeature[],
  wideDim: number | null,
  wideInit?: EmbeddingInit,
): EmbeddingCollectionSpec {
  const tables = new Map<string, EmbeddingCollectionSpec['tables'][number]>();
  const features: EmbeddingCollectionSpec['features'] = [];
  for (const f of feats) {
    const tableName = wideDim === null ? f.tableName : `${f.tableName}_wide`;
    if (f.numRows === undefined || f.numRows <= 0)
      throw new Error(
        `Expected a known row count (hash_bucket_size, num_buckets, vocab or boundaries) for table '${f.tableName}' of feature '${f.name}' but received ${f.numRows}`,
      );
    const t = tables.get(tableName);
    if (t) t.rows = Math.max(t.rows, f.numRows);
    else
      tables.set(tableName, {
        name: tableName,
        rows: f.numRows,
        dim: wideDim ?? f.embeddingDim,
        ...initFields(wideDim === null ? f.init : wideInit),
      });
    features.push({ name: f.name, table: tableName, pooling: f.pooling ?? 'sum' });
  }
  return { tables: [...tables.values()], features };
}
