import * as tf from '@tensorflow/tfjs-core';
import { FeatureGroupType, type FeatureGroupConfig } from '@tsrec/config';

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
 * dense columns; WIDE groups read a second collection whose tables are `<table>_wide` with
 * `wideEmbeddingDim` columns. The collections come from the context's factory.
 */
export class EmbeddingGroup {
  readonly deep: SparseArch | null;
  readonly wide: SparseArch | null;
  private readonly plans = new Map<string, GroupPlan>();
  private denseLayout: { key: string; offsets: Map<string, [number, number]>; width: number } | null = null;

  constructor(groups: readonly FeatureGroupConfig[], ctx: ModelContext, options: { wideEmbeddingDim?: number } = {}) {
    const byName = new Map(ctx.features.map((f) => [f.name, f]));
    const deepSparse: ModelFeature[] = [];
    const wideSparse: ModelFeature[] = [];
    for (const g of groups) {
      const name = g.groupName ?? '';
      if (this.plans.has(name)) throw new Error(`Expected unique group_name in feature_groups but received '${name}' twice`);
      if (g.groupType !== FeatureGroupType.DEEP && g.groupType !== FeatureGroupType.WIDE) {
        throw new Error(`group_type ${FeatureGroupType[g.groupType]} of feature group '${name}' is not supported yet (DEEP and WIDE are)`);
      }
      const feats = g.featureNames.map((n) => {
        const f = byName.get(n);
        if (!f) throw new Error(`Expected a feature defined in feature_configs for feature_names of group '${name}' but received '${n}'`);
        return f;
      });
      const wide = g.groupType === FeatureGroupType.WIDE;
      let dim = 0;
      for (const f of feats) {
        if (wide && !f.isSparse) throw new Error(`Expected only sparse features in WIDE group '${name}' but received dense feature '${f.name}'`);
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
    const arch = (feats: ModelFeature[], role: 'deep' | 'wide'): SparseArch | null => {
      if (feats.length === 0) return null;
      const spec = collectionSpec(feats, role === 'wide' ? (options.wideEmbeddingDim ?? 4) : null);
      return new SparseArch(ctx.createEmbeddingCollection(spec, role), { learningRate: ctx.sparseLearningRate, name: `${role}_sparse_arch` });
    };
    this.deep = arch(deepSparse, 'deep');
    this.wide = arch(wideSparse, 'wide');
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
    return [...(this.deep?.trainableVariables ?? []), ...(this.wide?.trainableVariables ?? [])];
  }

  /** Pools the batch (one call per collection) and assembles every group. */
  forward(batch: ModelBatch, training = false): GroupedFeatures {
    const pool = (arch: SparseArch | null) => {
      if (!arch) return null;
      const names = arch.collection.features.map((f) => f.name);
      const same = names.length === batch.sparse.keys.length && names.every((n, i) => n === batch.sparse.keys[i]);
      const sparse = same ? batch.sparse.toSparseBatch() : batch.sparse.select(names).toSparseBatch();
      return arch.forward(sparse, { training });
    };
    const deepPooled = pool(this.deep);
    const widePooled = pool(this.wide);
    const needsDense = [...this.plans.values()].some((p) => p.type === FeatureGroupType.DEEP && p.features.some((f) => !f.isSparse));
    const dense = needsDense ? this.denseTensor(batch) : null;
    const groups: Record<string, tf.Tensor2D> = {};
    const blocks: Record<string, tf.Tensor2D[]> = {};
    for (const plan of this.plans.values()) {
      if (plan.type === FeatureGroupType.WIDE) {
        groups[plan.name] = this.wide!.select(widePooled!, plan.features.map((f) => f.name));
        continue;
      }
      const sparseNames = plan.features.filter((f) => f.isSparse).map((f) => f.name);
      if (sparseNames.length === plan.features.length) {
        groups[plan.name] = this.deep!.select(deepPooled!, sparseNames);
        continue;
      }
      // Mixed or dense-only: the group's columns, in config order, from the pooled and dense blocks.
      const { sources, picks } = this.mixedPicks(plan, deepPooled, dense!, batch);
      const order = wholeSources(sources.map((s) => s.shape[1]), picks);
      if (order && order.length > 1) {
        const parts = order.map((i) => sources[i]);
        blocks[plan.name] = parts;
        // Built on first read (in the caller's scope: read a group where its blocks are alive, as
        // models do inside predict), again if that tensor was disposed; assignable like the rest.
        let built: tf.Tensor2D | null = null;
        Object.defineProperty(groups, plan.name, {
          enumerable: true,
          configurable: true,
          get: () => (built && !built.isDisposed ? built : (built = concatColumns(parts))),
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

  private mixedPicks(plan: GroupPlan, pooled: tf.Tensor2D | null, dense: tf.Tensor2D, batch: ModelBatch): { sources: tf.Tensor2D[]; picks: ColumnPick[] } {
    const layout = this.layoutOf(batch);
    const sources = pooled ? [pooled, dense] : [dense];
    const denseSource = pooled ? 1 : 0;
    const picks: ColumnPick[] = [];
    for (const f of plan.features) {
      if (f.isSparse) {
        for (const column of this.deep!.columnsOf([f.name])) picks.push({ source: 0, column });
      } else {
        const at = layout.offsets.get(f.name);
        if (!at) throw new Error(`Expected dense feature '${f.name}' of group '${plan.name}' in the batch's denseKeys (${[...layout.offsets.keys()].join(', ')})`);
        for (let c = 0; c < at[1]; c++) picks.push({ source: denseSource, column: at[0] + c });
      }
    }
    return { sources, picks };
  }

  private denseTensor(batch: ModelBatch): tf.Tensor2D {
    const width = this.layoutOf(batch).width;
    const d = batch.dense;
    return tf.tensor2d(new Float32Array(d.buffer, d.byteOffset, d.length), [batch.batchSize, width], 'float32');
  }

  private layoutOf(batch: ModelBatch) {
    const key = batch.denseKeys.join('\u0000') + '|' + batch.denseDims.join(',');
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
    if (!p) throw new Error(`Expected a feature group named one of ${[...this.plans.keys()].join(', ')} but received '${name}'`);
    return p;
  }

  /** Disposes the arches' variables (collections belong to the context). */
  dispose(): void {
    this.deep?.dispose();
    this.wide?.dispose();
  }
}

/** Tables (shared through embedding_name) and features of one collection. */
function collectionSpec(feats: ModelFeature[], wideDim: number | null): EmbeddingCollectionSpec {
  const tables = new Map<string, { name: string; rows: number; dim: number }>();
  const features: EmbeddingCollectionSpec['features'] = [];
  for (const f of feats) {
    const tableName = wideDim === null ? f.tableName : `${f.tableName}_wide`;
    if (f.numRows === undefined || f.numRows <= 0) throw new Error(`Expected a known row count (hash_bucket_size, num_buckets, vocab or boundaries) for table '${f.tableName}' of feature '${f.name}' but received ${f.numRows}`);
    const t = tables.get(tableName);
    if (t) t.rows = Math.max(t.rows, f.numRows);
    else tables.set(tableName, { name: tableName, rows: f.numRows, dim: wideDim ?? f.embeddingDim });
    features.push({ name: f.name, table: tableName, pooling: 'sum' });
  }
  return { tables: [...tables.values()], features };
}
