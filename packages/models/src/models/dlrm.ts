import * as tf from '@tensorflow/tfjs-core';
import type { DLRM as DLRMConfig, ModelConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import { dotInteraction } from '../ops/dot_interaction';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { DLRM_RULES } from './dlrm_rules';
import { RankModel, type Predictions } from './rank_model';
import { stackedGroup } from './stacked_group';

/**
 * DLRM (Naumov et al. 2019), as TorchEasyRec builds it: group `sparse` (DEEP, one embedding
 * dim D) and optional `dense` (DEEP) through `dense_mlp`, whose last layer must have D units.
 * The dot interaction of [dense_mlp(dense); sparse embeddings] (pairs i < j) is concatenated
 * with dense_mlp's output (and the flat sparse embeddings when `arch_with_sparse`), then
 * `final` and a linear output.
 */
export class DLRM extends RankModel {
  private readonly dense: Mlp | null;
  private readonly final: Mlp | null;
  private readonly output: Dense;
  private readonly archWithSparse: boolean;
  /** Embedding dim D and number of interacting fields (sparse features, plus one for dense). */
  private readonly dim: number;
  private readonly fields: number;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx);
    this.requireGroup('dlrm', 'sparse');
    const D = stackedGroup.dimOf(this.embeddingGroup, 'sparse', 'dlrm');
    const N = this.embeddingGroup.groupFeatures('sparse').length;
    this.archWithSparse = m.archWithSparse ?? true;
    if (this.embeddingGroup.has('dense')) {
      if (!m.denseMlp)
        throw new Error("Expected an MLP for dlrm.dense_mlp (the 'dense' group exists) but received none");
      const last = m.denseMlp.hiddenUnits[m.denseMlp.hiddenUnits.length - 1];
      if (last !== D)
        throw new Error(
          `Expected the last of dlrm.dense_mlp.hidden_units to equal the sparse embedding_dim ${D} but received ${last}`,
        );
      this.dense = this.track(new Mlp(this.embeddingGroup.groupDim('dense'), m.denseMlp, this.layer('dense_mlp')));
    } else {
      this.dense = null;
    }
    const fields = N + (this.dense ? 1 : 0);
    this.dim = D;
    this.fields = fields;
    const width = (this.dense ? D : 0) + (fields * (fields - 1)) / 2 + (this.archWithSparse ? N * D : 0);
    this.final = m.final ? this.track(new Mlp(width, m.final, this.layer('final'))) : null;
    this.output = this.track(new Dense(this.final ? this.final.outputDim : width, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    const parts: tf.Tensor2D[] = [];
    let fields = groups.sparse;
    // Dense
    if (this.dense) {
      const dense = this.dense.apply(groups.dense, training);
      parts.push(dense);
      fields = concatColumns([dense, groups.sparse]);
    }
    // Interaction
    parts.push(dotInteraction(tf.reshape(fields, [fields.shape[0], this.fields, this.dim])));
    if (this.archWithSparse) parts.push(groups.sparse);
    const x = concatColumns(parts);
    return this.toPredictions(this.output.apply(this.final ? this.final.apply(x, training) : x));
  }
}

function modelConfig(config: ModelConfig): DLRMConfig {
  if (config.model.case !== 'dlrm')
    throw new Error(`Expected model_config.dlrm for DLRM but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('dlrm', DLRM, DLRM_RULES);
