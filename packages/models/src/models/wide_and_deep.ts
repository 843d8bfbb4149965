import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig, WideAndDeep as WideAndDeepConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { wideInitOf } from '../embedding/wide_init';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { WIDE_AND_DEEP_RULES } from './wide_and_deep_rules';
import { RankModel, type Predictions } from './rank_model';

/**
 * Wide & Deep (Cheng et al. 2016), as TorchEasyRec builds it: groups `wide` (WIDE) and `deep`
 * (DEEP). Without `final`: y = Σ wide + Linear(MLP(deep)); with `final`:
 * y = Linear(final([Σ wide, MLP(deep)])).
 */
export class WideAndDeep extends RankModel {
  private readonly deep: Mlp;
  private readonly final: Mlp | null;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx, {
      wideEmbeddingDim: m.wideEmbeddingDim || 4,
      wideInit: wideInitOf(m.wideInitFn, 'wide_and_deep'),
    });
    this.requireGroup('wide_and_deep', 'wide');
    this.requireGroup('wide_and_deep', 'deep');
    if (!m.deep) throw new Error('Expected an MLP for wide_and_deep.deep but received none');
    this.deep = this.track(new Mlp(this.embeddingGroup.groupDim('deep'), m.deep, this.layer('deep')));
    this.final = m.final ? this.track(new Mlp(1 + this.deep.outputDim, m.final, this.layer('final'))) : null;
    this.output = this.track(new Dense((this.final ?? this.deep).outputDim, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups, blocks } = this.embeddingGroup.forward(batch, training);
    // Wide
    const wide = tf.sum(groups.wide, 1, true) as tf.Tensor2D;
    // Deep
    const deep = this.deep.apply(blocks.deep ?? groups.deep, training);
    if (this.final)
      return this.toPredictions(this.output.apply(this.final.apply(concatColumns([wide, deep]), training)));
    return this.toPredictions(tf.add(wide, this.output.apply(deep)) as tf.Tensor2D);
  }
}

function modelConfig(config: ModelConfig): WideAndDeepConfig {
  if (config.model.case !== 'wideAndDeep')
    throw new Error(`Expected model_config.wide_and_deep for WideAndDeep but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('wide_and_deep', WideAndDeep, WIDE_AND_DEEP_RULES);
