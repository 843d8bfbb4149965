import type { ModelConfig, MultiTower as MultiTowerConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { MULTI_TOWER_RULES } from './multi_tower_rules';
import { RankModel, type Predictions } from './rank_model';

/**
 * MultiTower, as TorchEasyRec builds it: each of `towers` runs its `mlp` over the feature group
 * named by `input`; the towers' outputs are concatenated into an optional `final` MLP and a
 * linear output: y = Linear(final([tower_1(g_1), …, tower_n(g_n)])).
 */
export class MultiTower extends RankModel {
  private readonly towers: { input: string; mlp: Mlp }[];
  private readonly final: Mlp | null;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx);
    if (m.towers.length === 0) throw new Error('Expected at least one towers entry for multi_tower but received none');
    this.towers = m.towers.map((t, i) => {
      const input = t.input ?? '';
      this.requireGroup('multi_tower', input);
      if (!t.mlp)
        throw new Error(`Expected an MLP for multi_tower.towers[${i}].mlp (input '${input}') but received none`);
      return {
        input,
        mlp: this.track(new Mlp(this.embeddingGroup.groupDim(input), t.mlp, this.layer(`tower_${input}`))),
      };
    });
    const width = this.towers.reduce((s, t) => s + t.mlp.outputDim, 0);
    this.final = m.final ? this.track(new Mlp(width, m.final, this.layer('final'))) : null;
    this.output = this.track(new Dense(this.final?.outputDim ?? width, this.numClass, this.layer('output')));
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups, blocks } = this.embeddingGroup.forward(batch, training);
    const outs = this.towers.map((t) => t.mlp.apply(blocks[t.input] ?? groups[t.input], training));
    const x = outs.length === 1 ? outs[0] : concatColumns(outs);
    return this.toPredictions(this.output.apply(this.final ? this.final.apply(x, training) : x));
  }
}

function modelConfig(config: ModelConfig): MultiTowerConfig {
  if (config.model.case !== 'multiTower')
    throw new Error(`Expected model_config.multi_tower for MultiTower but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('multi_tower', MultiTower, MULTI_TOWER_RULES);
