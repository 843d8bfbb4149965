import * as tf from '@tensorflow/tfjs-core';
import type { DeepFM as DeepFMConfig, ModelConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { wideInitOf } from '../embedding/wide_init';
import { Mlp } from '../layers/mlp';
import { fmInteraction } from '../ops/fm_interaction';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { DEEPFM_RULES } from './deepfm_rules';
import { RankModel, type Predictions } from './rank_model';
import { stackedGroup } from './stacked_group';

/**
 * DeepFM (Guo et al. 2017), as TorchEasyRec builds it: groups `wide` (WIDE), `deep` (DEEP) and
 * optionally `fm` (DEEP, equal embedding dims; `deep` when absent).
 * Without `final`: y = Σ wide + Σ_d FM(fm) + Linear(MLP(deep)); with `final`:
 * y = Linear(final([Σ wide, FM(fm), MLP(deep)])).
 */
export class DeepFM extends RankModel {
  private readonly fmGroup: string;
  private readonly deep: Mlp;
  private readonly final: Mlp | null;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx, { wideEmbeddingDim: m.wideEmbeddingDim || 4, wideInit: wideInitOf(m.wideInitFn, 'deepfm') });
    this.requireGroup('deepfm', 'wide');
    this.requireGroup('deepfm', 'deep');
    if (!m.deep) throw new Error('Expected an MLP for deepfm.deep but received none');
    this.fmGroup = this.embeddingGroup.has('fm') ? 'fm' : 'deep';
    const fmDim = stackedGroup.dimOf(this.embeddingGroup, this.fmGroup, 'deepfm');
    this.deep = this.track(new Mlp(this.embeddingGroup.groupDim('deep'), m.deep, this.layer('deep')));
    this.final = m.final ? this.track(new Mlp(1 + fmDim + this.deep.outputDim, m.final, this.layer('final'))) : null;
    this.output = this.track(new Dense((this.final ?? this.deep).outputDim, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups, blocks } = this.embeddingGroup.forward(batch, training);
    // Wide
    const wide = tf.sum(groups.wide, 1, true) as tf.Tensor2D;
    // FM
    const fm = fmInteraction(stackedGroup.stack(this.embeddingGroup, groups, this.fmGroup));
    // Deep
    const deep = this.deep.apply(blocks.deep ?? groups.deep, training);
    if (this.final)
      return this.toPredictions(this.output.apply(this.final.apply(concatColumns([wide, fm, deep]), training)));
    return this.toPredictions(tf.add(tf.add(wide, tf.sum(fm, 1, true)), this.output.apply(deep)) as tf.Tensor2D);
  }
}

function modelConfig(config: ModelConfig): DeepFMConfig {
  if (config.model.case !== 'deepfm')
    throw new Error(`Expected model_config.deepfm for DeepFM but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('deepfm', DeepFM, DEEPFM_RULES);
