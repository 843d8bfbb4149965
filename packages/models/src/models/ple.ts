import * as tf from '@tensorflow/tfjs-core';
import type { ExtractionNetwork, ModelConfig, PLE as PLEConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { PLE_RULES } from './ple_rules';
import { RankModel, type Predictions } from './rank_model';
import type { TaskHead } from './simple_multi_task';

/** One extraction network (CGC layer): per-task experts and gates, shared experts and (not last) a shared gate. */
interface Extraction {
  taskExperts: Mlp[][];
  sharedExperts: Mlp[];
  taskGates: Dense[];
  sharedGate: Dense | null;
}

/**
 * PLE (Tang et al. 2020, Progressive Layered Extraction), as TorchEasyRec builds it: one DEEP
 * group (the first), x, through `extraction_networks` in sequence. Extraction network l keeps
 * one input per task and one shared input (all x at the start); task t's output is
 * softmax(Linear_t(in_t)) · [task t's `expert_num_per_task` experts (task_expert_net) on in_t,
 * the `share_num` shared experts (share_expert_net) on in_shared]; except in the last network,
 * the shared output is softmax(Linear_s(in_shared)) · [every task's experts, the shared experts].
 * Task tower t then predicts Linear_t(mlp_t(out_t)) with tower-suffixed predictions, losses and
 * metrics as MMoE. Variables: `extraction_<l>/<tower>/expert_<e>/…`, `extraction_<l>/<tower>/gate`,
 * `extraction_<l>/shared_expert_<s>/…`, `extraction_<l>/shared_gate`, `<tower>/mlp`, `<tower>/output`.
 */
export class PLE extends RankModel {
  private readonly group: string;
  private readonly extractions: Extraction[];
  private readonly heads: TaskHead[];

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config);
    super(config, ctx, { taskTowers: m.taskTowers });
    this.group = this.singleGroup('ple');
    if (m.extractionNetworks.length === 0)
      throw new Error('Expected at least one ple.extraction_networks entry but received none');
    const T = this.tasks.length;
    let taskDims = this.tasks.map(() => this.embeddingGroup.groupDim(this.group));
    let sharedDim = taskDims[0];
    this.extractions = m.extractionNetworks.map((net, l) => {
      const final = l === m.extractionNetworks.length - 1;
      const e = this.extraction(net, l, taskDims, sharedDim, final, T);
      taskDims = this.tasks.map(() => e.taskExperts[0][0].outputDim);
      sharedDim = e.sharedExperts[0]?.outputDim ?? taskDims[0];
      return e;
    });
    this.heads = m.taskTowers.map((tower, i) => {
      const name = this.tasks[i].towerName;
      const mlp = tower.mlp ? this.track(new Mlp(taskDims[i], tower.mlp, this.layer(`${name}/mlp`))) : null;
      return {
        mlp,
        output: this.track(
          new Dense(mlp?.outputDim ?? taskDims[i], this.tasks[i].numClass, this.layer(`${name}/output`)),
        ),
      };
    });
  }

  private extraction(
    net: ExtractionNetwork,
    l: number,
    taskDims: number[],
    sharedDim: number,
    final: boolean,
    T: number,
  ): Extraction {
    const where = `ple.extraction_networks[${l}]`;
    const perTask = net.expertNumPerTask ?? 0;
    const shareNum = net.shareNum ?? 0;
    if (!(perTask > 0)) throw new Error(`Expected expert_num_per_task > 0 for ${where} but received ${perTask}`);
    if (!net.taskExpertNet) throw new Error(`Expected an MLP for ${where}.task_expert_net but received none`);
    if (shareNum > 0 && !net.shareExpertNet)
      throw new Error(`Expected an MLP for ${where}.share_expert_net (share_num ${shareNum}) but received none`);
    const p = `extraction_${l}`;
    const sharedExperts = Array.from({ length: shareNum }, (_, s) =>
      this.track(new Mlp(sharedDim, net.shareExpertNet!, this.layer(`${p}/shared_expert_${s}`))),
    );
    const taskExperts = this.tasks.map((t, i) =>
      Array.from({ length: perTask }, (_, e) =>
        this.track(new Mlp(taskDims[i], net.taskExpertNet!, this.layer(`${p}/${t.towerName}/expert_${e}`))),
      ),
    );
    const taskWidth = taskExperts[0][0].outputDim;
    if (shareNum > 0 && sharedExperts[0].outputDim !== taskWidth) {
      throw new Error(
        `Expected the last of ${where}.share_expert_net.hidden_units to equal task_expert_net's (${taskWidth}) but received ${sharedExperts[0].outputDim}`,
      );
    }
    const taskGates = this.tasks.map((t, i) =>
      this.track(new Dense(taskDims[i], perTask + shareNum, this.layer(`${p}/${t.towerName}/gate`))),
    );
    const sharedGate = final
      ? null
      : this.track(new Dense(sharedDim, T * perTask + shareNum, this.layer(`${p}/shared_gate`)));
    return { taskExperts, sharedExperts, taskGates, sharedGate };
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const B = batch.batchSize;
    const { groups } = this.embeddingGroup.forward(batch, training);
    const x = groups[this.group];
    let taskIn: tf.Tensor2D[] = this.tasks.map(() => x);
    let sharedIn = x;
    for (const e of this.extractions) {
      const shared = e.sharedExperts.map((m) => m.apply(sharedIn, training));
      const experts = e.taskExperts.map((list, i) => list.map((m) => m.apply(taskIn[i], training)));
      const next = experts.map((own, i) => mix(e.taskGates[i].apply(taskIn[i]), [...own, ...shared], B));
      if (e.sharedGate) sharedIn = mix(e.sharedGate.apply(sharedIn), [...experts.flat(), ...shared], B);
      taskIn = next;
    }
    const out: Predictions = {};
    this.heads.forEach((h, i) =>
      Object.assign(
        out,
        this.toPredictions(h.output.apply(h.mlp ? h.mlp.apply(taskIn[i], training) : taskIn[i]), this.tasks[i]),
      ),
    );
    return out;
  }
}

/**
 * Σ_e softmax(gateLogits)_e · experts_e: the experts side by side [B, E·H] viewed as [B, E, H]
 * and mixed by a batched [B, 1, E]·[B, E, H] (cheaper than stack, whose gradient is a slow
 * Unpack on the cpu backend).
 */
function mix(gateLogits: tf.Tensor2D, experts: tf.Tensor2D[], B: number): tf.Tensor2D {
  const H = experts[0].shape[1];
  const stacked = tf.reshape(concatColumns(experts), [B, experts.length, H]) as tf.Tensor3D;
  return tf.reshape(tf.matMul(tf.expandDims(tf.softmax(gateLogits), 1) as tf.Tensor3D, stacked), [B, H]) as tf.Tensor2D;
}

function modelConfig(config: ModelConfig): PLEConfig {
  if (config.model.case !== 'ple')
    throw new Error(`Expected model_config.ple for PLE but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('ple', PLE, PLE_RULES);
