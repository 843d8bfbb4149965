import type { DCNV1 as DCNV1Config, ModelConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { CrossNet } from '../layers/cross_net';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { RankModel, type Predictions } from './rank_model';

/**
 * DCN (Wang et al. 2017), as TorchEasyRec builds it: one DEEP group (the first) into the cross
 * network `cross_tower` (cross_num layers) and the MLP `deep_tower` side by side; their outputs
 * are concatenated into `final_dnn` and a linear output:
 * y = Linear(final_dnn([cross(x), deep_tower(x)])).
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
    if (!m.crossTower)
      throw new Error('Expected cross_tower { cross_num: … } for dcn_v1.cross_tower but received none');
    if (!m.deepTower) throw new Error('Expected an MLP for dcn_v1.deep_tower but received none');
    if (!m.finalDnn) throw new Error('Expected an MLP for dcn_v1.final_dnn but received none');
    const dim = this.embeddingGroup.groupDim(this.group);
    this.cross = this.track(new CrossNet(dim, m.crossTower.crossNum ?? 3, this.layer('cross_tower')));
    this.deep = this.track(new Mlp(dim, m.deepTower, this.layer('deep_tower')));
    this.final = this.track(new Mlp(dim + this.deep.outputDim, m.finalDnn, this.layer('final_dnn')));
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

registerModel('dcn_v1', DCNV1);
