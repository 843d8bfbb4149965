import type { MMoE as MMoEConfig, ModelConfig } from '@tsrec/config';

import { Dense } from '../layers/dense';
import { MixtureOfExperts } from '../layers/mixture_of_experts';
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
  private readonly moe: MixtureOfExperts;
  private readonly heads: { mlp: Mlp | null; output: Dense }[];

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx, { taskTowers: m.taskTowers });
    this.group = this.singleGroup('mmoe');
    if (!m.expertMlp) throw new Error('Expected an MLP for mmoe.expert_mlp but received none');
    const dim = this.embeddingGroup.groupDim(this.group);
    this.moe = new MixtureOfExperts(
      dim,
      {
        expertMlp: m.expertMlp,
        numExpert: m.numExpert ?? 3,
        gateMlp: m.gateMlp,
        tasks: this.tasks.map((t) => t.towerName),
      },
      (name) => this.layer(name),
      (x) => this.track(x),
    );
    const expertDim = this.moe.outputDim;
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
    const mixed = this.moe.apply(groups[this.group], training);
    const out: Predictions = {};
    this.tasks.forEach((t, i) => {
      const h = this.heads[i];
      Object.assign(out, this.toPredictions(h.output.apply(h.mlp ? h.mlp.apply(mixed[i], training) : mixed[i]), t));
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
