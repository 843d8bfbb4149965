import type * as tf from '@tensorflow/tfjs-core';
import type { BayesTaskTower, DBMTL as DBMTLConfig, ModelConfig, TaskTower } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { MixtureOfExperts } from '../layers/mixture_of_experts';
import { Mlp } from '../layers/mlp';
import { DBMTL_RULES } from './dbmtl_rules';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { RankModel, type Predictions } from './rank_model';

/** One task tower: its MLP, its relation MLP (with the towers it reads) and its output layer. */
interface Tower {
  mlp: Mlp | null;
  relation: { mlp: Mlp; from: number[] } | null;
  output: Dense;
}

/**
 * DBMTL (Deep Bayesian Multi-Target Learning), as TorchEasyRec builds it (tzrec/models/dbmtl.py):
 * one DEEP group (the first), x → `bottom_mlp` (optional) → with `expert_mlp` an MMoE of
 * `num_expert` experts and a gate per task (else every task reads the same input) → per task
 * tower its `mlp` (optional). A tower with a `relation_mlp` then reads its own output next to the
 * relation outputs of the earlier towers it names in `relation_tower_names` (a tower without one
 * passes its task output on), and a linear layer gives its `num_class` logits: the towers model
 * p(ctr), p(cvr | ctr), … in order.
 */
export class DBMTL extends RankModel {
  private readonly group: string;
  private readonly bottom: Mlp | null;
  private readonly moe: MixtureOfExperts | null;
  private readonly towers: Tower[];

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    // A BayesTaskTower carries what RankModel reads of a TaskTower (names, label, losses, metrics, weight).
    super(config, ctx, { taskTowers: m.taskTowers as unknown as TaskTower[] });
    if (m.maskNet) throw new Error('mask_net inside dbmtl is not supported yet by tsrec; remove dbmtl.mask_net');
    this.group = this.singleGroup('dbmtl');
    let dim = this.embeddingGroup.groupDim(this.group);
    this.bottom = m.bottomMlp ? this.track(new Mlp(dim, m.bottomMlp, this.layer('bottom_mlp'))) : null;
    dim = this.bottom?.outputDim ?? dim;
    this.moe = m.expertMlp
      ? new MixtureOfExperts(
          dim,
          {
            expertMlp: m.expertMlp,
            numExpert: m.numExpert ?? 3,
            gateMlp: m.gateMlp,
            tasks: this.tasks.map((t) => t.towerName),
          },
          (name) => this.layer(name),
          (x) => this.track(x),
        )
      : null;
    const taskIn = this.moe?.outputDim ?? dim;
    const names = m.taskTowers.map((t) => t.towerName);
    const widths: number[] = []; // each tower's relation output (its task output without a relation MLP)
    this.towers = m.taskTowers.map((tower: BayesTaskTower, i) => {
      const name = this.tasks[i].towerName;
      const mlp = tower.mlp ? this.track(new Mlp(taskIn, tower.mlp, this.layer(`${name}/mlp`))) : null;
      let width = mlp?.outputDim ?? taskIn;
      let relation: Tower['relation'] = null;
      if (tower.relationMlp) {
        const from = tower.relationTowerNames.map((r) => {
          const k = names.indexOf(r);
          if (k < 0 || k >= i)
            throw new Error(
              `Expected the relation_tower_names of task tower '${name}' to name earlier task towers (${names.slice(0, i).join(', ') || 'none'}) but received '${r}'`,
            );
          return k;
        });
        const inDim = width + from.reduce((a, k) => a + widths[k], 0);
        relation = { mlp: this.track(new Mlp(inDim, tower.relationMlp, this.layer(`${name}/relation_mlp`))), from };
        width = relation.mlp.outputDim;
      }
      widths.push(width);
      return {
        mlp,
        relation,
        output: this.track(new Dense(width, this.tasks[i].numClass, this.layer(`${name}/output`))),
      };
    });
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    let x = groups[this.group];
    if (this.bottom) x = this.bottom.apply(x, training);
    const inputs = this.moe ? this.moe.apply(x, training) : this.tasks.map(() => x);
    const relationOut: tf.Tensor2D[] = [];
    const out: Predictions = {};
    this.towers.forEach((tower, i) => {
      let h = tower.mlp ? tower.mlp.apply(inputs[i], training) : inputs[i];
      if (tower.relation)
        h = tower.relation.mlp.apply(concatColumns([h, ...tower.relation.from.map((k) => relationOut[k])]), training);
      relationOut.push(h);
      Object.assign(out, this.toPredictions(tower.output.apply(h), this.tasks[i]));
    });
    return out;
  }
}

function modelConfig(config: ModelConfig): DBMTLConfig {
  if (config.model.case !== 'dbmtl')
    throw new Error(`Expected model_config.dbmtl for DBMTL but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('dbmtl', DBMTL, DBMTL_RULES);
