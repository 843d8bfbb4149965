import * as tf from '@tensorflow/tfjs-core';
import type { FeatureGroupConfig, ModelConfig } from '@tsrec/config';

import { EmbeddingGroup } from '../embedding/embedding_group';
import { createMetric } from '../metrics/create_metric';
import type { Metric } from '../metrics/metric';
import type { ModelBatch, ModelContext } from './model_context';
import { createLoss, type ModelLoss } from './model_loss';

let nextModelId = 0;

/** Model outputs: `logits` [B] (or [B, C]) and `probs`, or `y` [B] for regression. */
export type Predictions = Record<string, tf.Tensor>;

/**
 * Base of single-task ranking models (TorchEasyRec's RankModel): a subclass builds its parts
 * from config and writes `predict`; losses, metrics and variables live here. Subclasses call
 * `initInput` to get the feature groups as tensors and `denseLayer` to count variables.
 */
export abstract class RankModel {
  readonly numClass: number;
  readonly losses: ModelLoss[];
  readonly metrics: Metric[];
  protected readonly embeddingGroup: EmbeddingGroup;
  private readonly groupingKeys = new Map<Metric, string>();
  private readonly ownVariables: tf.Variable[] = [];
  private seedCounter: number;
  /** Prefix of this instance's variable names (tfjs names are global, so unique per model). */
  readonly scope: string;

  constructor(
    readonly config: ModelConfig,
    protected readonly ctx: ModelContext,
    options: { wideEmbeddingDim?: number } = {},
  ) {
    this.numClass = config.numClass || 1;
    this.seedCounter = ctx.seed ?? 0;
    this.scope = `${config.model.case ?? 'model'}_${nextModelId++}`;
    this.embeddingGroup = new EmbeddingGroup(config.featureGroups, ctx, options);
    const lossConfigs = config.losses;
    if (lossConfigs.length === 0) throw new Error('Expected at least one loss in model_config.losses but received none');
    this.losses = lossConfigs.map((l) => createLoss(l, this.numClass));
    this.metrics = config.metrics.map((m) => {
      const { metric, groupingKey } = createMetric(m, { numClass: this.numClass });
      if (groupingKey) this.groupingKeys.set(metric, groupingKey);
      return metric;
    });
  }

  /** Computes the predictions of a batch (`training` enables dropout and the sparse update). */
  abstract predict(batch: ModelBatch, options?: { training?: boolean }): Predictions;

  /** Turns the final layer's output [B, numClass] into TorchEasyRec's prediction dict. */
  protected toPredictions(output: tf.Tensor2D): Predictions {
    if (this.losses[0].regression) return { y: tf.reshape(output, [-1]) };
    if (this.numClass === 1) {
      const logits = tf.reshape(output, [-1]);
      return { logits, probs: tf.sigmoid(logits) };
    }
    return { logits: output, probs: tf.softmax(output) };
  }

  /** Losses by name (TorchEasyRec names); their sum is what training minimises. */
  loss(predictions: Predictions, batch: ModelBatch): Record<string, tf.Scalar> {
    const labels = this.labelsOf(batch);
    const weights = this.ctx.sampleWeightName ? (batch.labels[this.ctx.sampleWeightName] ?? batch.sampleWeights ?? null) : (batch.sampleWeights ?? null);
    const out: Record<string, tf.Scalar> = {};
    for (const l of this.losses) out[l.name] = l.apply(l.regression ? predictions.y : predictions.logits, labels, weights);
    return out;
  }

  /** Adds a batch's predictions to every metric. */
  updateMetrics(predictions: Predictions, batch: ModelBatch, groups?: Record<string, ArrayLike<number> | readonly string[]>): void {
    const labels = this.labelsOf(batch);
    const preds = (predictions.probs ?? predictions.y).dataSync() as Float32Array;
    for (const m of this.metrics) {
      const key = this.groupingKeys.get(m);
      const g = key ? groups?.[key] : undefined;
      if (key && !g) throw new Error(`Expected the values of grouping_key '${key}' (groups argument) for metric '${m.name}' but received none`);
      m.update({ preds, labels, weights: batch.sampleWeights ?? null, groups: g });
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

  private labelsOf(batch: ModelBatch): Float32Array {
    const labels = batch.labels[this.ctx.labelName];
    if (!labels) throw new Error(`Expected label '${this.ctx.labelName}' in the batch but received labels ${Object.keys(batch.labels).join(', ') || 'none'}`);
    return labels;
  }
}
