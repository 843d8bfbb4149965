import * as tf from '@tensorflow/tfjs-core';
import type { FeatureGroupConfig, ModelConfig, TaskTower } from '@tsrec/config';

import { EmbeddingGroup } from '../embedding/embedding_group';
import { createMetric } from '../metrics/create_metric';
import type { Metric } from '../metrics/metric';
import type { ModelBatch, ModelContext } from './model_context';
import { createLoss, type ModelLoss } from './model_loss';

let nextModelId = 0;

/** Model outputs: `logits` [B] (or [B, C]) and `probs`, or `y` [B] for regression; multi-task keys end in `_<tower_name>`. */
export type Predictions = Record<string, tf.Tensor>;

/**
 * One task of a model: the single task of a ranking model (suffix '', the context's label,
 * model_config.losses/metrics) or a multi-task model's task tower (suffix `_<tower_name>`).
 */
export interface ModelTask {
  /** '' for the single task, else the tower name. */
  towerName: string;
  /** '' or `_<tower_name>`: appended to prediction, loss and metric names. */
  suffix: string;
  labelName: string;
  numClass: number;
  /** Factor of this task's losses in the training objective. */
  weight: number;
  sampleWeightName?: string;
  losses: ModelLoss[];
  metrics: Metric[];
}

/**
 * Base of single-task ranking models (TorchEasyRec's RankModel): a subclass builds its parts
 * from config and writes `predict`; losses, metrics and variables live here. Subclasses call
 * `initInput` to get the feature groups as tensors and `denseLayer` to count variables.
 */
export abstract class RankModel {
  readonly numClass: number;
  /** The tasks: one for single-task models, one per task tower for multi-task models. */
  readonly tasks: ModelTask[];
  protected readonly embeddingGroup: EmbeddingGroup;
  private readonly groupingKeys = new Map<Metric, string>();
  private readonly ownVariables: tf.Variable[] = [];
  private seedCounter: number;
  /** Prefix of this instance's variable names (tfjs names are global, so unique per model). */
  readonly scope: string;

  constructor(
    readonly config: ModelConfig,
    protected readonly ctx: ModelContext,
    options: { wideEmbeddingDim?: number; taskTowers?: readonly TaskTower[] } = {},
  ) {
    this.numClass = config.numClass || 1;
    this.seedCounter = ctx.seed ?? 0;
    this.scope = `${config.model.case ?? 'model'}_${nextModelId++}`;
    this.embeddingGroup = new EmbeddingGroup(config.featureGroups, ctx, options);
    if (options.taskTowers) {
      if (options.taskTowers.length === 0) throw new Error(`Expected at least one task_towers entry for model ${config.model.case} but received none`);
      this.tasks = options.taskTowers.map((t, i) => {
        const towerName = t.towerName || `task_${i}`;
        if (!t.labelName) throw new Error(`Expected a label_name for task tower '${towerName}' but received none`);
        if (t.taskSpaceIndicatorLabel) throw new Error(`task_space_indicator_label of task tower '${towerName}' is not supported yet; remove it from the config`);
        return this.buildTask(towerName, `_${towerName}`, t.labelName, t.numClass || 1, t.weight ?? 1, t.sampleWeightName || undefined, t.losses, t.metrics);
      });
    } else {
      this.tasks = [this.buildTask('', '', ctx.labelName, this.numClass, 1, ctx.sampleWeightName, config.losses, config.metrics)];
    }
  }

  private buildTask(towerName: string, suffix: string, labelName: string, numClass: number, weight: number, sampleWeightName: string | undefined, losses: ModelConfig['losses'], metrics: ModelConfig['metrics']): ModelTask {
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

  /** Computes the predictions of a batch (`training` enables dropout and the sparse update). */
  abstract predict(batch: ModelBatch, options?: { training?: boolean }): Predictions;

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
    return { [`logits${s}`]: output, [`probs${s}`]: tf.softmax(output) };
  }

  /** Losses by name (TorchEasyRec names, times the task weight); their sum is what training minimises. */
  loss(predictions: Predictions, batch: ModelBatch): Record<string, tf.Scalar> {
    const out: Record<string, tf.Scalar> = {};
    for (const t of this.tasks) {
      const labels = this.labelsOf(batch, t.labelName);
      const weights = t.sampleWeightName ? (batch.labels[t.sampleWeightName] ?? batch.sampleWeights ?? null) : (batch.sampleWeights ?? null);
      for (const l of t.losses) {
        const value = l.apply(predictions[`${l.regression ? 'y' : 'logits'}${t.suffix}`], labels, weights);
        out[l.name] = t.weight === 1 ? value : tf.mul(value, t.weight);
      }
    }
    return out;
  }

  /** Adds a batch's predictions to every metric. */
  updateMetrics(predictions: Predictions, batch: ModelBatch, groups?: Record<string, ArrayLike<number> | readonly string[]>): void {
    for (const t of this.tasks) {
      const labels = this.labelsOf(batch, t.labelName);
      const preds = (predictions[`probs${t.suffix}`] ?? predictions[`y${t.suffix}`]).dataSync() as Float32Array;
      for (const m of t.metrics) {
        const key = this.groupingKeys.get(m);
        const g = key ? groups?.[key] : undefined;
        if (key && !g) throw new Error(`Expected the values of grouping_key '${key}' (groups argument) for metric '${m.name}' but received none`);
        m.update({ preds, labels, weights: batch.sampleWeights ?? null, groups: g });
      }
    }
  }

  /** Current values of every metric by name; resets them when `reset`. */
  computeMetrics(reset = true): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.metrics) {
      out[m.name] = m.compute();
      if (reset) m.reset();
    }
    return out;
  }

  /** Trainable dense variables (MLPs, …) plus the sparse arches' gradient anchors. */
  get trainableVariables(): tf.Variable[] {
    return [...this.ownVariables, ...this.embeddingGroup.variables];
  }

  /** Dense parameter count (embedding tables excluded). */
  get denseParameterCount(): number {
    return this.ownVariables.reduce((s, v) => s + v.size, 0);
  }

  /**
   * One training step: forward, fused losses, backward; the sparse tables are updated during
   * backprop at the context's sparse learning rate, the dense variables by `optimizer`.
   */
  trainStep(batch: ModelBatch, optimizer: tf.Optimizer): number {
    const loss = optimizer.minimize(
      () => {
        const losses = Object.values(this.loss(this.predict(batch, { training: true }), batch));
        return (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar;
      },
      true,
      this.trainableVariables,
    )!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }

  /** Frees the model's variables (collections belong to the context). */
  dispose(): void {
    for (const v of this.ownVariables) v.dispose();
    this.embeddingGroup.dispose();
  }

  /** Registers variables created by a subclass (layers' `variables`). */
  protected track<T extends { variables: tf.Variable[] }>(layer: T): T {
    this.ownVariables.push(...layer.variables);
    return layer;
  }

  /** Layer options for a named part: its scoped variable name prefix and a fresh seed. */
  protected layer(name: string): { name: string; seed: number } {
    return { name: `${this.scope}/${name}`, seed: this.nextSeed() };
  }

  /** A fresh seed for the next layer's initialisation. */
  protected nextSeed(): number {
    this.seedCounter += 101;
    return this.seedCounter;
  }

  /** The group of this name, or an error naming the model's convention. */
  protected requireGroup(model: string, name: string, groups: readonly FeatureGroupConfig[] = this.config.featureGroups): void {
    if (!this.embeddingGroup.has(name)) {
      throw new Error(`Expected a feature group named '${name}' for model ${model} but received groups ${groups.map((g) => `'${g.groupName}'`).join(', ') || 'none'}`);
    }
  }

  /** The group of a one-group model (TorchEasyRec reads the first, whatever its name). */
  protected singleGroup(model: string): string {
    const groups = this.config.featureGroups;
    if (groups.length !== 1) throw new Error(`Expected one DEEP feature group for model ${model} but received ${groups.length} (${groups.map((g) => `'${g.groupName}'`).join(', ')})`);
    return groups[0].groupName ?? '';
  }

  private labelsOf(batch: ModelBatch, labelName: string): Float32Array {
    const labels = batch.labels[labelName];
    if (!labels) throw new Error(`Expected label '${labelName}' in the batch but received labels ${Object.keys(batch.labels).join(', ') || 'none'}`);
    return labels;
  }
}
