import type { DCNV1 as DCNV1Config, ModelConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { CrossNet } from '../layers/cross_net';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { DCN_V1_RULES } from './dcn_v1_rules';
import { RankModel, type Predictions } from './rank_model';

/**
 * DCN (Wang et al. 2017), as TorchEasyRec builds it: one DEEP group (the first) into the cross
 * network `cross` (cross_num layers) and the MLP `deep` side by side; their outputs are
 * concatenated into the MLP `final` and a linear output:
 * y = Linear(final([cross(x), deep(x)])).
 */
export class DCNV1 extends RankModel {
  private readonly group: string;
  private readonly cross: CrossNet;
  private readonly deep: Mlp;
  private readonly final: Mlp;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx);
    this.group = this.singleGroup('dcn_v1');
    if (!m.cross) throw new Error('Expected cross { cross_num: … } for dcn_v1.cross but received none');
    if (!m.deep) throw new Error('Expected an MLP for dcn_v1.deep but received none');
    if (!m.final) throw new Error('Expected an MLP for dcn_v1.final but received none');
    const dim = this.embeddingGroup.groupDim(this.group);
    this.cross = this.track(new CrossNet(dim, m.cross.crossNum ?? 3, this.layer('cross')));
    this.deep = this.track(new Mlp(dim, m.deep, this.layer('deep')));
    this.final = this.track(new Mlp(dim + this.deep.outputDim, m.final, this.layer('final')));
    this.output = this.track(new Dense(this.final.outputDim, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    const x = groups[this.group];
    const both = concatColumns([this.cross.apply(x), this.deep.apply(x, training)]);
    return this.toPredictions(this.output.apply(this.final.apply(both, training)));
  }
}

function modelConfig(config: ModelConfig): DCNV1Config {
  if (config.model.case !== 'dcnV1')
    throw new Error(`Expected model_config.dcn_v1 for DCNV1 but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('dcn_v1', DCNV1, DCN_V1_RULES);
