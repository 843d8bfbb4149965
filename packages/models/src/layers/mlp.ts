import * as tf from '@tensorflow/tfjs-core';
import type { MLP } from '@tsrec/config';

import { BatchNorm } from './batch_norm';
import { applyActivation, Dense, type Activation } from './dense';
import { LayerNorm } from './layer_norm';
import { nextRandomSeed } from './random_stream';

/**
 * TorchEasyRec activation names (`nn.ReLU`, …) → Dense activations: exactly the names config
 * validation accepts (SUPPORTED_ACTIVATIONS; a test checks the two agree).
 */
export const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  'nn.ReLU': 'relu',
  'nn.ReLU6': 'relu6',
  'nn.ELU': 'elu',
  'nn.Sigmoid': 'sigmoid',
  'nn.LeakyReLU': 'leakyrelu',
  'nn.Tanh': 'tanh',
  'nn.GELU': 'gelu',
  'nn.SiLU': 'silu',
  '': 'linear',
  'nn.Identity': 'linear',
  // torch's nn.PReLU(): max(0, x) + a·min(0, x) with one learnable a per layer, initially 0.25;
  // applied after the linear part (and the norm), like the unfused activations.
  'nn.PReLU': 'linear',
};

/** torch's nn.PReLU default slope. */
const PRELU_INIT = 0.25;

/**
 * A stack of perceptrons built from an `MLP` config (TorchEasyRec's MLP): each layer is
 * Linear (no bias with use_bn) → BatchNorm (use_bn) or LayerNorm (use_ln) → activation →
 * dropout (dropout_ratio: one for all layers or one per layer; training only). Without a norm
 * the linear layer and its activation are one fused matmul. Variables of layer i are named
 * `<name>/mlp_<i>/kernel|bias`, `…/bn/gamma|beta|moving_mean|moving_variance`, `…/ln/gamma|beta`.
 */
export class Mlp {
  readonly layers: Dense[];
  /** Per layer: its BatchNorm or LayerNorm, if any. */
  readonly norms: (BatchNorm | LayerNorm | null)[];
  private readonly dropout: number[];
  private readonly activation: Activation;
  /** Per layer: the learnable slope of nn.PReLU (`<name>/mlp_<i>/prelu/weight`), when that is the activation. */
  readonly prelu: tf.Variable[] | null;
  /** Seed of this MLP's dropout masks (with the training position; see random_stream.ts). */
  private readonly seed: number;

  constructor(
    readonly inputDim: number,
    config: MLP,
    options: { name: string; seed: number },
  ) {
    const where = `MLP '${options.name}'`;
    if (config.hiddenUnits.length === 0)
      throw new Error(`Expected at least one value in hidden_units of ${where} but received none`);
    if (config.useBn && config.useLn)
      throw new Error(`Expected at most one of use_bn and use_ln in ${where} but received both`);
    const act = ACTIVATIONS[config.activation ?? 'nn.ReLU'];
    if (act === undefined) {
      throw new Error(
        `Expected one of ${Object.keys(ACTIVATIONS).filter(Boolean).join(', ')} for activation of ${where} but received '${config.activation}'`,
      );
    }
    const n = config.hiddenUnits.length;
    if (config.dropoutRatio.length > 1 && config.dropoutRatio.length !== n) {
      throw new Error(
        `Expected 1 or ${n} values in dropout_ratio of ${where} but received ${config.dropoutRatio.length}`,
      );
    }
    this.dropout = config.hiddenUnits.map((_, i) => config.dropoutRatio[config.dropoutRatio.length === 1 ? 0 : i] ?? 0);
    this.dropout.forEach((r) => {
      if (!(r >= 0 && r < 1)) throw new Error(`Expected dropout_ratio values in [0, 1) in ${where} but received ${r}`);
    });
    this.activation = act;
    this.seed = options.seed;
    const normed = !!(config.useBn || config.useLn);
    let dim = inputDim;
    this.layers = config.hiddenUnits.map((units, i) => {
      const name = `${options.name}/mlp_${i}`;
      const layer = new Dense(dim, units, {
        activation: normed ? 'linear' : act,
        bias: config.useBn ? false : (config.bias ?? true),
        seed: options.seed + 17 * i,
        name,
      });
      dim = units;
      return layer;
    });
    this.norms = this.layers.map((l, i) => {
      const name = `${options.name}/mlp_${i}`;
      if (config.useBn) return new BatchNorm(l.outputDim, { name: `${name}/bn` });
      if (config.useLn) return new LayerNorm(l.outputDim, { name: `${name}/ln` });
      return null;
    });
    this.prelu =
      config.activation === 'nn.PReLU'
        ? this.layers.map((_, i) =>
            tf.variable(tf.fill([1], PRELU_INIT), true, `${options.name}/mlp_${i}/prelu/weight`),
          )
        : null;
  }

  /** Width of the output. */
  get outputDim(): number {
    return this.layers[this.layers.length - 1].outputDim;
  }

  /**
   * [B, inputDim] → [B, outputDim]; dropout only when training. `x` may be column blocks whose
   * concatenation is the input (`GroupedFeatures.blocks`): the first layer takes them as they are.
   */
  apply(x: tf.Tensor2D | readonly tf.Tensor2D[], training = false): tf.Tensor2D {
    let y = x as tf.Tensor2D;
    this.layers.forEach((layer, i) => {
      y = layer.apply(i === 0 ? x : y);
      const norm = this.norms[i];
      if (norm)
        y = applyActivation(norm instanceof BatchNorm ? norm.apply(y, training) : norm.apply(y), this.activation);
      if (this.prelu) y = tf.prelu(y as tf.Tensor, this.prelu[i]) as tf.Tensor2D;
      if (training && this.dropout[i] > 0)
        y = tf.dropout(y, this.dropout[i], undefined, nextRandomSeed(this.seed + i)) as tf.Tensor2D;
    });
    return y;
  }

  /** Variables of every layer in order (BatchNorm's moving statistics are the non-trainable ones). */
  get variables(): tf.Variable[] {
    return this.layers.flatMap((l, i) => [
      ...l.variables,
      ...(this.norms[i]?.variables ?? []),
      ...(this.prelu ? [this.prelu[i]] : []),
    ]);
  }
}
