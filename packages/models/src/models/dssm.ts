import * as tf from '@tensorflow/tfjs-core';
import { FeatureGroupType, Similarity, type DSSM as DSSMConfig, type ModelConfig, type Tower } from '@tsrec/config';

import type { EmbeddingGroup } from '../embedding/embedding_group';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import { softmaxCrossEntropy } from '../losses/softmax_cross_entropy';
import { RecallAtKMetric } from '../metrics/recall_at_k';
import { BaseModel } from './base_model';
import type { ModelBatch, ModelContext } from './model_context';
import type { ModelLoss } from './model_loss';
import { registerModel } from './model_registry';
import { DSSM_RULES } from './dssm_rules';
import { sampleWeightsOf } from './rank_model';
import type { ModelTask, Predictions } from './trainable_model';

/** The towers of a two-tower model. */
export type TowerName = 'user' | 'item';

interface MatchTower {
  name: TowerName;
  group: string;
  embeddingGroup: EmbeddingGroup;
  mlp: Mlp | null;
  output: Dense | null;
  outputDim: number;
}

/**
 * DSSM (Huang et al. 2013; two-tower retrieval), as TorchEasyRec builds it: a `user_tower` and
 * an `item_tower`, each over the DEEP feature group its `input` names, with its own embedding
 * collection (roles `user` and `item`, so a tower can be exported and served alone): the
 * tower's `mlp`, then Linear(output_dim) when output_dim > 0, then L2 normalisation for COSINE
 * similarity. Predictions: `similarity` [B, B] = user_emb · item_embᵀ / temperature (every
 * other item of the batch is a negative: in_batch_negative), `user_tower_emb` and
 * `item_tower_emb` [B, output_dim]. Loss `softmax_cross_entropy` over each row with the
 * diagonal as the positive (sample weights weight rows); metrics `recall@<top_k>` (TorchEasyRec's
 * name) with the diagonal as the relevant item. Not supported: in_batch_negative false (it needs
 * a negative sampler), sampled softmax with the log-q correction, EUCLID similarity.
 */
export class DSSM extends BaseModel {
  readonly tasks: ModelTask[];
  readonly similarity: 'inner_product' | 'cosine';
  readonly temperature: number;
  private readonly towers: Record<TowerName, MatchTower>;
  private readonly recalls: RecallAtKMetric[] = [];

  constructor(config: ModelConfig, ctx: ModelContext) {
    super(config, ctx);
    const m = modelConfig(config);
    if (!m.inBatchNegative)
      throw new Error(
        'dssm with in_batch_negative false (negatives from a sampler) is not supported yet; set in_batch_negative: true',
      );
    if (m.similarity === Similarity.EUCLID)
      throw new Error('similarity EUCLID of dssm is not supported yet; use INNER_PRODUCT or COSINE');
    this.similarity = m.similarity === Similarity.COSINE ? 'cosine' : 'inner_product';
    this.temperature = m.temperature ?? 1;
    if (!(this.temperature > 0)) throw new Error(`Expected temperature > 0 for dssm but received ${this.temperature}`);
    const outputDim = m.outputDim ?? 0;
    if (outputDim < 0) throw new Error(`Expected output_dim >= 0 for dssm but received ${outputDim}`);
    this.towers = {
      user: this.tower('user', m.userTower, outputDim),
      item: this.tower('item', m.itemTower, outputDim),
    };
    if (this.towers.user.group === this.towers.item.group)
      throw new Error(
        `Expected different feature groups for dssm.user_tower.input and dssm.item_tower.input but received '${this.towers.user.group}' for both`,
      );
    if (this.towers.user.outputDim !== this.towers.item.outputDim) {
      throw new Error(
        `Expected equal output widths of the user and item towers of dssm but received ${this.towers.user.outputDim} and ${this.towers.item.outputDim} (set output_dim)`,
      );
    }
    this.tasks = [this.task()];
  }

  private tower(name: TowerName, tower: Tower | undefined, outputDim: number): MatchTower {
    const where = `dssm.${name}_tower`;
    if (!tower?.input) throw new Error(`Expected a feature group name for ${where}.input but received none`);
    const g = this.config.featureGroups.find((x) => x.groupName === tower.input);
    if (!g)
      throw new Error(
        `Expected a feature group named '${tower.input}' for ${where}.input but received groups ${this.config.featureGroups.map((x) => `'${x.groupName}'`).join(', ') || 'none'}`,
      );
    if (g.groupType !== FeatureGroupType.DEEP)
      throw new Error(
        `Expected a DEEP feature group for ${where}.input but received ${FeatureGroupType[g.groupType]} group '${g.groupName}'`,
      );
    const embeddingGroup = this.createEmbeddingGroup([g], {}, { deep: name });
    const dim = embeddingGroup.groupDim(tower.input);
    const mlp = tower.mlp ? this.track(new Mlp(dim, tower.mlp, this.layer(`${name}_tower/mlp`))) : null;
    const output =
      outputDim > 0
        ? this.track(new Dense(mlp?.outputDim ?? dim, outputDim, this.layer(`${name}_tower/output`)))
        : null;
    if (!mlp && !output) throw new Error(`Expected ${where}.mlp or output_dim > 0 for dssm but received neither`);
    return { name, group: tower.input, embeddingGroup, mlp, output, outputDim: output?.outputDim ?? mlp!.outputDim };
  }

  private task(): ModelTask {
    const losses = this.config.losses;
    if (losses.length !== 1 || losses[0].loss.case !== 'softmaxCrossEntropy') {
      throw new Error(
        `Expected one loss, softmax_cross_entropy, in model_config.losses of dssm but received ${losses.map((l) => l.loss.case ?? 'an empty LossConfig').join(', ') || 'none'}`,
      );
    }
    const labelSmoothing = (losses[0].loss.value as { labelSmoothing?: number }).labelSmoothing ?? 0;
    const loss: ModelLoss = {
      name: 'softmax_cross_entropy',
      regression: false,
      label: { kind: 'none', loss: 'softmax_cross_entropy' }, // in-batch negatives: the diagonal is the label
      apply: (similarity, _labels, weights) =>
        softmaxCrossEntropy(similarity, diagonalIds(similarity.shape[0]), { weights, labelSmoothing }),
    };
    const metrics = this.config.metrics.map((c) => {
      if (c.metric.case !== 'recallAtK')
        throw new Error(
          `metric '${c.metric.case ?? 'empty'}' is not supported for model dssm (supported: recall_at_k)`,
        );
      const k = c.metric.value.topK ?? 5;
      const metric = new RecallAtKMetric(k, `recall@${k}`);
      this.recalls.push(metric);
      return metric;
    });
    return {
      towerName: '',
      suffix: '',
      labelName: this.ctx.labelName,
      numClass: 1,
      weight: 1,
      sampleWeightName: this.ctx.sampleWeightName,
      losses: [loss],
      metrics,
    };
  }

  /** Width of the tower embeddings. */
  get outputDim(): number {
    return this.towers.user.outputDim;
  }

  /** One tower's embeddings [B, outputDim] (normalised for COSINE), from its features in `batch` only. */
  towerEmbedding(name: TowerName, batch: ModelBatch, options: { training?: boolean } = {}): tf.Tensor2D {
    const t = this.towers[name];
    const training = options.training ?? false;
    let x = t.embeddingGroup.forward(batch, training).groups[t.group];
    if (t.mlp) x = t.mlp.apply(x, training);
    if (t.output) x = t.output.apply(x);
    return this.similarity === 'cosine' ? l2Normalize(x) : x;
  }

  /** One tower's export output (TorchEasyRec's TowerWrapper): `{ user_tower_emb }` or `{ item_tower_emb }`. */
  predictTower(name: TowerName, batch: ModelBatch): Predictions {
    return { [`${name}_tower_emb`]: this.towerEmbedding(name, batch) };
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const user = this.towerEmbedding('user', batch, options);
    const item = this.towerEmbedding('item', batch, options);
    const product = tf.matMul(user, item, false, true);
    const similarity = this.temperature === 1 ? product : tf.mul(product, 1 / this.temperature);
    return { similarity, user_tower_emb: user, item_tower_emb: item };
  }

  loss(predictions: Predictions, batch: ModelBatch): Record<string, tf.Scalar> {
    const sim = this.similarityOf(predictions, batch);
    const weights = sampleWeightsOf(batch, this.tasks[0].sampleWeightName);
    const l = this.tasks[0].losses[0];
    return { [l.name]: l.apply(sim, new Float32Array(0), weights) };
  }

  /**
   * Recall@k with the diagonal as each row's one relevant item. Row b is a hit when fewer than k
   * items outrank item b — a higher score, or an equal one at a lower index (RecallAtKMetric's
   * stable order) — so the update is one O(B²) pass, without sorting rows or building [B, B]
   * labels; the counts enter the metrics through their mergeable state.
   */
  updateMetrics(predictions: Predictions, batch: ModelBatch): void {
    if (this.recalls.length === 0) return;
    const sim = this.similarityOf(predictions, batch);
    const B = sim.shape[0];
    const preds = sim.dataSync() as Float32Array;
    const above = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const row = b * B;
      const d = preds[row + b];
      let n = 0;
      for (let j = 0; j < B; j++) {
        const v = preds[row + j];
        if (!Number.isFinite(v))
          throw new RangeError(
            `Expected finite preds for metric '${this.recalls[0].name}' but received ${v} at index ${row + j} (sample ${b})`,
          );
        if (v > d || (v === d && j < b)) n++;
      }
      above[b] = n;
    }
    for (const m of this.recalls) {
      let hits = 0;
      for (let b = 0; b < B; b++) if (above[b] < m.topK) hits++;
      m.merge({ hits, relevant: B });
    }
  }

  private similarityOf(predictions: Predictions, batch: ModelBatch): tf.Tensor2D {
    const sim = predictions.similarity;
    if (!sim)
      throw new Error(
        `Expected 'similarity' in the predictions of dssm but received ${Object.keys(predictions).join(', ') || 'none'}`,
      );
    if (sim.rank !== 2 || sim.shape[0] !== batch.batchSize || sim.shape[1] !== batch.batchSize) {
      throw new Error(
        `Expected similarity of shape [${batch.batchSize}, ${batch.batchSize}] for dssm but received [${sim.shape.join(', ')}]`,
      );
    }
    return sim as tf.Tensor2D;
  }
}

/** Class ids 0..B-1: row b's positive is item b. */
function diagonalIds(B: number): Float32Array {
  return Float32Array.from({ length: B }, (_, i) => i);
}

/** x / max(‖x‖₂, 1e-12) per row (torch's F.normalize); row sums and spreads are matmuls with ones. */
function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const D = x.shape[1];
  const inv = tf.rsqrt(tf.maximum(tf.matMul(tf.mul(x, x), tf.ones([D, 1])), 1e-24));
  return tf.mul(x, tf.matMul(inv, tf.ones([1, D])));
}

function modelConfig(config: ModelConfig): DSSMConfig {
  if (config.model.case !== 'dssm')
    throw new Error(`Expected model_config.dssm for DSSM but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('dssm', DSSM, DSSM_RULES);
