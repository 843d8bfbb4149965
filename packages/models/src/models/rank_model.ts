import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingInit, FeatureGroupConfig, ModelConfig, TaskTower } from '@tsrec/config';

import type { EmbeddingGroup } from '../embedding/embedding_group';
import { AucMetric } from '../metrics/auc';
import { createMetric } from '../metrics/create_metric';
import { GroupedAucMetric } from '../metrics/grouped_auc';
import type { Metric } from '../metrics/metric';
import { BaseModel } from './base_model';
import type { ModelBatch, ModelContext } from './model_context';
import { createLoss, type ModelLoss } from './model_loss';
import type { MetricGroups, ModelTask, Predictions } from './trainable_model';

export type { ModelTask, Predictions } from './trainable_model';

/**
 * Base of ranking models (TorchEasyRec's RankModel and MultiTaskRank): a subclass builds its
 * parts from config (layers from `layer(name)`, registered with `track`) and writes `predict`;
 * losses, metrics, tasks and the embedding group (collections `deep` and `wide`) live here,
 * variables and save/restore in `BaseModel`.
 */
export abstract class RankModel extends BaseModel {
  readonly numClass: number;
  /** The tasks: one for single-task models, one per task tower for multi-task models. */
  readonly tasks: ModelTask[];
  protected readonly embeddingGroup: EmbeddingGroup;
  private readonly groupingKeys = new Map<Metric, string>();

  constructor(
    config: ModelConfig,
    ctx: ModelContext,
    options: { wideEmbeddingDim?: number; wideInit?: EmbeddingInit; taskTowers?: readonly TaskTower[] } = {},
  ) {
    super(config, ctx);
    this.numClass = config.numClass || 1;
    this.embeddingGroup = this.createEmbeddingGroup(config.featureGroups, options, { deep: 'deep', wide: 'wide' });
    if (options.taskTowers) {
      if (options.taskTowers.length === 0)
        throw new Error(`Expected at least one task_towers entry for model ${config.model.case} but received none`);
      this.tasks = options.taskTowers.map((t, i) => {
        const towerName = t.towerName || `task_${i}`;
        if (!t.labelName) throw new Error(`Expected a label_name for task tower '${towerName}' but received none`);
        const task = this.buildTask(
          towerName,
          `_${towerName}`,
          t.labelName,
          t.numClass || 1,
          t.weight ?? 1,
          t.sampleWeightName || undefined,
          t.losses,
          t.metrics,
        );
        if (t.taskSpaceIndicatorLabel)
          task.taskSpace = {
            label: t.taskSpaceIndicatorLabel,
            inWeight: t.inTaskSpaceWeight ?? 1,
            outWeight: t.outTaskSpaceWeight ?? 1,
          };
        return task;
      });
    } else {
      this.tasks = [
        this.buildTask('', '', ctx.labelName, this.numClass, 1, ctx.sampleWeightName, config.losses, config.metrics),
      ];
    }
  }

  private buildTask(
    towerName: string,
    suffix: string,
    labelName: string,
    numClass: number,
    weight: number,
    sampleWeightName: string | undefined,
    losses: ModelConfig['losses'],
    metrics: ModelConfig['metrics'],
  ): ModelTask {
    const where = towerName ? `task tower '${towerName}'` : 'model_config';
    if (losses.length === 0) throw new Error(`Expected at least one loss in ${where}.losses but received none`);
    return {
      towerName,
      suffix,
      labelName,
      numClass,
      weight,
      sampleWeightName,
      losses: losses.map((l) => createLoss(l, numClass, suffix)),
      metrics: metrics.map((m) => {
        const { metric, groupingKey } = createMetric(m, { numClass, suffix });
        if (groupingKey) this.groupingKeys.set(metric, groupingKey);
        return metric;
      }),
    };
  }

  /** Losses of every task. */
  get losses(): ModelLoss[] {
    return this.tasks.flatMap((t) => t.losses);
  }

  /** Metrics of every task. */
  get metrics(): Metric[] {
    return this.tasks.flatMap((t) => t.metrics);
  }

  /**
   * Turns a task's final output [B, numClass] into TorchEasyRec's prediction dict (`logits`,
   * `probs` or `y`, suffixed `_<tower_name>` for a task tower).
   */
  protected toPredictions(output: tf.Tensor2D, task: ModelTask = this.tasks[0]): Predictions {
    const s = task.suffix;
    if (task.losses[0].regression) return { [`y${s}`]: tf.reshape(output, [-1]) };
    if (task.numClass === 1) {
      const logits = tf.reshape(output, [-1]);
      return { [`logits${s}`]: logits, [`probs${s}`]: tf.sigmoid(logits) };
    }
    const probs = tf.softmax(output);
    // Two classes: TorchEasyRec also gives the positive class's probability (`probs1`), what AUC reads.
    if (task.numClass === 2)
      return {
        [`logits${s}`]: output,
        [`probs${s}`]: probs,
        [`probs1${s}`]: tf.reshape(tf.slice(probs, [0, 1], [-1, 1]), [-1]),
      };
    return { [`logits${s}`]: output, [`probs${s}`]: probs };
  }

  /** Losses by name (TorchEasyRec names, times the task weight); their sum is what training minimises. */
  loss(predictions: Predictions, batch: ModelBatch): Record<string, tf.Scalar> {
    const out: Record<string, tf.Scalar> = {};
    for (const t of this.tasks) {
      const labels = this.labelsOf(batch, t.labelName);
      const weights = taskSpaceWeights(sampleWeightsOf(batch, t.sampleWeightName), t, batch);
      for (const l of t.losses) {
        const value = l.apply(predictions[`${l.regression ? 'y' : 'logits'}${t.suffix}`], labels, weights, batch);
        out[l.name] = t.weight === 1 ? value : tf.mul(value, t.weight);
      }
    }
    return out;
  }

  /** Adds a batch's predictions to every metric. */
  updateMetrics(predictions: Predictions, batch: ModelBatch, groups?: MetricGroups): void {
    for (const t of this.tasks) {
      const labels = this.labelsOf(batch, t.labelName);
      const preds = (predictions[`probs${t.suffix}`] ?? predictions[`y${t.suffix}`]).dataSync() as Float32Array;
      const probs1 = predictions[`probs1${t.suffix}`];
      for (const m of t.metrics) {
        const key = this.groupingKeys.get(m);
        const g = key ? groups?.[key] : undefined;
        if (key && !g)
          throw new Error(
            `Expected the values of grouping_key '${key}' (groups argument) for metric '${m.name}' but received none`,
          );
        // TorchEasyRec's metrics are unweighted: sample weights only weight the losses.
        // AUC and grouped AUC of a two-class task read the positive class's probability (TorchEasyRec's probs1).
        const binary = probs1 && (m instanceof AucMetric || m instanceof GroupedAucMetric);
        m.update({ preds: binary ? (probs1.dataSync() as Float32Array) : preds, labels, weights: null, groups: g });
      }
    }
  }

  /** The group of this name, or an error naming the model's convention. */
  protected requireGroup(
    model: string,
    name: string,
    groups: readonly FeatureGroupConfig[] = this.config.featureGroups,
  ): void {
    if (!this.embeddingGroup.has(name)) {
      throw new Error(
        `Expected a feature group named '${name}' for model ${model} but received groups ${groups.map((g) => `'${g.groupName}'`).join(', ') || 'none'}`,
      );
    }
  }

  /** The group of a one-group model (TorchEasyRec reads the first, whatever its name). */
  /** The feature group of the models that read one (TorchEasyRec: the first; the others go unused). */
  protected singleGroup(model: string): string {
    const groups = this.config.featureGroups;
    if (groups.length === 0) throw new Error(`Expected a DEEP feature group for model ${model} but received none`);
    return groups[0].groupName ?? '';
  }

  private labelsOf(batch: ModelBatch, labelName: string): Float32Array {
    const labels = batch.labels[labelName];
    if (!labels)
      throw new Error(
        `Expected label '${labelName}' in the batch but received labels ${Object.keys(batch.labels).join(', ') || 'none'}`,
      );
    return labels;
  }
}

/**
 * The weights of a task's losses: its sample weight field (TorchEasyRec: the first
 * sample_weight_fields entry for single-task and match models, each task tower's
 * sample_weight_name), or none. A loss over weights w is Σ w·ℓ / Σ w, TorchEasyRec's
 * mean(ℓ · w / mean(w)).
 */
/**
 * A task's loss weights with its task space applied (TorchEasyRec's multi_task_rank: each sample's
 * weight times in_task_space_weight where the indicator label is > 0, else out_task_space_weight;
 * the losses then take the weighted mean, what TorchEasyRec's normalisation by the mean weight
 * gives).
 */
function taskSpaceWeights(weights: Float32Array | null, t: ModelTask, batch: ModelBatch): Float32Array | null {
  if (!t.taskSpace) return weights;
  const { label, inWeight, outWeight } = t.taskSpace;
  const indicator = batch.labels[label];
  if (!indicator)
    throw new Error(
      `Expected label '${label}' (task_space_indicator_label of task tower '${t.towerName}') in the batch but it holds ${Object.keys(batch.labels).join(', ')}`,
    );
  const out = new Float32Array(batch.batchSize);
  for (let i = 0; i < out.length; i++) out[i] = (weights ? weights[i] : 1) * (indicator[i] > 0 ? inWeight : outWeight);
  return out;
}

export function sampleWeightsOf(batch: ModelBatch, name: string | undefined): Float32Array | null {
  if (!name) return null;
  const w = batch.sampleWeights?.[name];
  if (!w)
    throw new Error(
      `Expected sample weight field '${name}' in the batch (data_config.sample_weight_fields) but received ${Object.keys(batch.sampleWeights ?? {}).join(', ') || 'none'}`,
    );
  return w;
}
