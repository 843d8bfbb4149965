import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig, xDeepFM as XDeepFMConfig } from '@tsrec/config';

import { assembleColumns, concatColumns, type ColumnPick } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { wideInitOf } from '../embedding/wide_init';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { XDEEPFM_RULES } from './xdeepfm_rules';
import { RankModel, type Predictions } from './rank_model';

/**
 * xDeepFM (Lian et al. 2018), as TorchEasyRec builds it: groups `wide` (WIDE, m features of
 * wide_embedding_dim D) and `deep` (DEEP). The CIN (`cin.cin_layer_size`) over the wide
 * embeddings X0 [B, m, D]: X_k[h] = Σ_{i,j} W_k[h, i, j] · X_{k−1}[i] ⊙ X0[j] + b_k[h] (a
 * 1×1 convolution), each layer sum-pooled over D and concatenated; with MLP(deep):
 * y = Linear(final([CIN(wide), deep(deep)])).
 */
export class XDeepFM extends RankModel {
  private readonly fields: number;
  private readonly wideDim: number;
  private readonly cin: Dense[];
  /** Column picks: the wide group [B, m·D] in (column, feature) order; per layer, the outer product's two sides. */
  private readonly toColumnMajor: ColumnPick[];
  private readonly outer: { left: ColumnPick[]; right: ColumnPick[] }[];
  private readonly deep: Mlp;
  private readonly final: Mlp;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    const wideDim = m.wideEmbeddingDim || 16;
    super(config, ctx, { wideEmbeddingDim: wideDim, wideInit: wideInitOf(m.wideInitFn, 'xdeepfm') });
    this.requireGroup('xdeepfm', 'wide');
    this.requireGroup('xdeepfm', 'deep');
    if (!m.cin || m.cin.cinLayerSize.length === 0)
      throw new Error('Expected cin { cin_layer_size: [...] } for xdeepfm.cin but received none');
    if (!m.deep) throw new Error('Expected an MLP for xdeepfm.deep but received none');
    if (!m.final) throw new Error('Expected an MLP for xdeepfm.final but received none');
    this.fields = this.embeddingGroup.groupFeatures('wide').length;
    this.wideDim = wideDim;
    const fields = this.fields;
    this.toColumnMajor = Array.from({ length: wideDim * fields }, (_, k) => ({
      source: 0,
      column: (k % fields) * wideDim + Math.floor(k / fields),
    }));
    let prev = fields;
    this.outer = [];
    this.cin = m.cin.cinLayerSize.map((size, i) => {
      const h = prev;
      this.outer.push({
        left: Array.from({ length: h * fields }, (_, k) => ({ source: 0, column: Math.floor(k / fields) })),
        right: Array.from({ length: h * fields }, (_, k) => ({ source: 0, column: k % fields })),
      });
      const layer = this.track(new Dense(h * fields, size, this.layer(`cin_${i}`)));
      prev = size;
      return layer;
    });
    const cinDim = m.cin.cinLayerSize.reduce((s, n) => s + n, 0);
    this.deep = this.track(new Mlp(this.embeddingGroup.groupDim('deep'), m.deep, this.layer('deep')));
    this.final = this.track(new Mlp(cinDim + this.deep.outputDim, m.final, this.layer('final')));
    this.output = this.track(new Dense(this.final.outputDim, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups, blocks } = this.embeddingGroup.forward(batch, training);
    const B = batch.batchSize;
    const [m, D] = [this.fields, this.wideDim];
    // Rows are (sample, embedding column) pairs, x0 [B·D, m]: each CIN layer is the row-wise
    // outer product X_{k−1} ⊗ X0 (two column picks and a product, no broadcasts) and one matmul;
    // the sum over D is a matmul of [B, D·H] with a 0/1 [D·H, H] pooling matrix.
    const x0 = tf.reshape<tf.Rank.R2>(assembleColumns([groups.wide], this.toColumnMajor), [B * D, m]);
    let xk: tf.Tensor2D = x0;
    const pooled = this.cin.map((layer, i) => {
      const z: tf.Tensor2D = tf.mul(
        assembleColumns([xk], this.outer[i].left),
        assembleColumns([x0], this.outer[i].right),
      );
      xk = layer.apply(z);
      const H = layer.outputDim;
      const pool = tf.tensor2d(
        Float32Array.from({ length: D * H * H }, (_, k) => (Math.floor(k / H) % H === k % H ? 1 : 0)),
        [D * H, H],
      );
      return tf.matMul(tf.reshape<tf.Rank.R2>(xk, [B, D * H]), pool) as tf.Tensor2D;
    });
    const deep = this.deep.apply(blocks.deep ?? groups.deep, training);
    return this.toPredictions(this.output.apply(this.final.apply(concatColumns([...pooled, deep]), training)));
  }
}

function modelConfig(config: ModelConfig): XDeepFMConfig {
  if (config.model.case !== 'xdeepfm')
    throw new Error(`Expected model_config.xdeepfm for XDeepFM but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('xdeepfm', XDeepFM, XDEEPFM_RULES);
