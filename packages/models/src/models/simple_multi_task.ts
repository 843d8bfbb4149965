import type { ModelConfig, SimpleMultiTask as SimpleMultiTaskConfig, TaskTower } from '@tsrec/config';

import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { SIMPLE_MULTI_TASK_RULES } from './simple_multi_task_rules';
import { RankModel, type Predictions } from './rank_model';

/** A task tower's head: its optional `mlp` and a linear layer to its num_class outputs. */
export interface TaskHead {
  mlp: Mlp | null;
  output: Dense;
}

/**
 * SimpleMultiTask, as TorchEasyRec builds it: one DEEP group (the first) shared by independent
 * `task_towers`; tower t predicts Linear_t(mlp_t(x)) for its `label_name`. Predictions, losses
 * and metrics are suffixed with the tower name (`probs_ctr`, `binary_cross_entropy_ctr`,
 * `auc_ctr`); each tower's losses are scaled by its `weight`.
 */
export class SimpleMultiTask extends RankModel {
  private readonly group: string;
  private readonly heads: TaskHead[];

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx, { taskTowers: m.taskTowers });
    this.group = this.singleGroup('simple_multi_task');
    const dim = this.embeddingGroup.groupDim(this.group);
    this.heads = m.taskTowers.map((t, i) => this.taskHead(dim, t, i));
  }

  /** Builds the head of task tower `i` over an input `dim` wide. */
  protected taskHead(dim: number, tower: TaskTower, i: number): TaskHead {
    const name = this.tasks[i].towerName;
    const mlp = tower.mlp ? this.track(new Mlp(dim, tower.mlp, this.layer(`${name}/mlp`))) : null;
    return {
      mlp,
      output: this.track(new Dense(mlp?.outputDim ?? dim, this.tasks[i].numClass, this.layer(`${name}/output`))),
    };
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    const x = groups[this.group];
    const out: Predictions = {};
    this.heads.forEach((h, i) =>
      Object.assign(out, this.toPredictions(h.output.apply(h.mlp ? h.mlp.apply(x, training) : x), this.tasks[i])),
    );
    return out;
  }
}

function modelConfig(config: ModelConfig): SimpleMultiTaskConfig {
  if (config.model.case !== 'simpleMultiTask')
    throw new Error(
      `Expected model_config.simple_multi_task for SimpleMultiTask but received ${config.model.case ?? 'none'}`,
    );
  return config.model.value;
}

registerModel('simple_multi_task', SimpleMultiTask, SIMPLE_MULTI_TASK_RULES);
