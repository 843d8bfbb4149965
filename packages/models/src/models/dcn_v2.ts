import type { DCNV2 as DCNV2Config, ModelConfig } from '@tsrec/config';

import { CrossV2Net } from '../layers/cross_net';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { DCN_V2_RULES } from './dcn_v2_rules';
import { RankModel, type Predictions } from './rank_model';

/**
 * DCN-V2 (Wang et al. 2021), as TorchEasyRec builds it: one DEEP group (the first) through an
 * optional `backbone` MLP, the low-rank cross network `cross` (cross_num layers of rank
 * low_rank), an optional `deep` MLP stacked on it, `final` and a linear output:
 * y = Linear(final(deep(cross(backbone(x))))).
 */
export class DCNV2 extends RankModel {
  private readonly group: string;
  private readonly backbone: Mlp | null;
  private readonly cross: CrossV2Net;
  private readonly deep: Mlp | null;
  private readonly final: Mlp;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx);
    this.group = this.singleGroup('dcn_v2');
    if (!m.cross) throw new Error('Expected cross { cross_num: … low_rank: … } for dcn_v2.cross but received none');
    if (!m.final) throw new Error('Expected an MLP for dcn_v2.final but received none');
    let dim = this.embeddingGroup.groupDim(this.group);
    this.backbone = m.backbone ? this.track(new Mlp(dim, m.backbone, this.layer('backbone'))) : null;
    dim = this.backbone?.outputDim ?? dim;
    this.cross = this.track(new CrossV2Net(dim, m.cross.crossNum ?? 3, m.cross.lowRank ?? 32, this.layer('cross')));
    this.deep = m.deep ? this.track(new Mlp(dim, m.deep, this.layer('deep'))) : null;
    this.final = this.track(new Mlp(this.deep?.outputDim ?? dim, m.final, this.layer('final')));
    this.output = this.track(new Dense(this.final.outputDim, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    let x = groups[this.group];
    if (this.backbone) x = this.backbone.apply(x, training);
    x = this.cross.apply(x);
    if (this.deep) x = this.deep.apply(x, training);
    return this.toPredictions(this.output.apply(this.final.apply(x, training)));
  }
}

function modelConfig(config: ModelConfig): DCNV2Config {
  if (config.model.case !== 'dcnV2')
    throw new Error(`Expected model_config.dcn_v2 for DCNV2 but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('dcn_v2', DCNV2, DCN_V2_RULES);
