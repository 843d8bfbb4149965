import * as tf from '@tensorflow/tfjs-core';
import type { MMoE as MMoEConfig, ModelConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { MMOE_RULES } from './mmoe_rules';
import { RankModel, type Predictions } from './rank_model';

/**
 * MMoE (Ma et al. 2018), as TorchEasyRec builds it: one DEEP group (the first), x, read by
 * `num_expert` experts (each an `expert_mlp`) and, per task tower, a gate softmax(Linear(
 * gate_mlp(x))) over the experts; tower t predicts Linear_t(mlp_t(Σ_e gate_t,e · expert_e(x)))
 * for its `label_name`, with tower-suffixed predictions, losses and metrics (`auc_ctr`).
 */
export class MMoE extends RankModel {
  private readonly group: string;
  private readonly experts: Mlp[];
  private readonly gates: { mlp: Mlp | null; output: Dense }[];
  private readonly heads: { mlp: Mlp | null; output: Dense }[];

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx, { taskTowers: m.taskTowers });
    this.group = this.singleGroup('mmoe');
    if (!m.expertMlp) throw new Error('Expected an MLP for mmoe.expert_mlp but received none');
    const numExpert = m.numExpert ?? 3;
    if (!(numExpert > 0)) throw new Error(`Expected num_expert > 0 for mmoe but received ${numExpert}`);
    const dim = this.embeddingGroup.groupDim(this.group);
    this.experts = Array.from({ length: numExpert }, (_, e) =>
      this.track(new Mlp(dim, m.expertMlp!, this.layer(`expert_${e}`))),
    );
    const expertDim = this.experts[0].outputDim;
    this.gates = this.tasks.map((t) => {
      const mlp = m.gateMlp ? this.track(new Mlp(dim, m.gateMlp, this.layer(`${t.towerName}/gate_mlp`))) : null;
      return {
        mlp,
        output: this.track(new Dense(mlp?.outputDim ?? dim, numExpert, this.layer(`${t.towerName}/gate`))),
      };
    });
    this.heads = m.taskTowers.map((tower, i) => {
      const t = this.tasks[i];
      const mlp = tower.mlp ? this.track(new Mlp(expertDim, tower.mlp, this.layer(`${t.towerName}/mlp`))) : null;
      return {
        mlp,
        output: this.track(new Dense(mlp?.outputDim ?? expertDim, t.numClass, this.layer(`${t.towerName}/output`))),
      };
    });
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    const x = groups[this.group];
    // Experts side by side [B, E·H] viewed as [B, E, H] (cheaper than stack, whose gradient is a
    // slow Unpack on the cpu backend); a gate [B, E] mixes them as a batched [B, 1, E]·[B, E, H].
    const H = this.experts[0].outputDim;
    const experts = tf.reshape(concatColumns(this.experts.map((e) => e.apply(x, training))), [
      batch.batchSize,
      this.experts.length,
      H,
    ]) as tf.Tensor3D;
    const out: Predictions = {};
    this.tasks.forEach((t, i) => {
      const g = this.gates[i];
      const gate = tf.softmax(g.output.apply(g.mlp ? g.mlp.apply(x, training) : x));
      const mixed = tf.reshape(tf.matMul(tf.expandDims(gate, 1) as tf.Tensor3D, experts), [
        batch.batchSize,
        H,
      ]) as tf.Tensor2D;
      const h = this.heads[i];
      Object.assign(out, this.toPredictions(h.output.apply(h.mlp ? h.mlp.apply(mixed, training) : mixed), t));
    });
    return out;
  }
}

function modelConfig(config: ModelConfig): MMoEConfig {
  if (config.model.case !== 'mmoe')
    throw new Error(`Expected model_config.mmoe for MMoE but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('mmoe', MMoE, MMOE_RULES);
