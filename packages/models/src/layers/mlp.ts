import * as tf from '@tensorflow/tfjs-core';
import type { MLP } from '@tsrec/config';

import { Dense, type Activation } from './dense';

/** TorchEasyRec activation names (`nn.ReLU`, …) → tfjs fused activations. */
const ACTIVATIONS: Record<string, Activation> = {
  'nn.ReLU': 'relu',
  'nn.ReLU6': 'relu6',
  'nn.ELU': 'elu',
  'nn.Sigmoid': 'sigmoid',
  'nn.LeakyReLU': 'leakyrelu',
  'nn.Tanh': 'tanh',
  '': 'linear',
  'nn.Identity': 'linear',
};

/**
 * A stack of Dense layers built from an `MLP` config (TorchEasyRec's MLP): hidden_units,
 * activation on every layer, dropout_ratio (one for all layers or one per layer) in training.
 * use_bn / use_ln are rejected as not supported yet.
 */
export class Mlp {
  readonly layers: Dense[];
  private readonly dropout: number[];

  constructor(
    readonly inputDim: number,
    config: MLP,
    options: { name: string; seed: number },
  ) {
    const where = `MLP '${options.name}'`;
    if (config.hiddenUnits.length === 0) throw new Error(`Expected at least one value in hidden_units of ${where} but received none`);
    if (config.useBn || config.useLn) throw new Error(`use_bn/use_ln of ${where} is not supported yet; remove it from the config`);
    const act = ACTIVATIONS[config.activation ?? 'nn.ReLU'];
    if (act === undefined) {
      throw new Error(`Expected one of ${Object.keys(ACTIVATIONS).filter(Boolean).join(', ')} for activation of ${where} but received '${config.activation}'`);
    }
    const n = config.hiddenUnits.length;
    if (config.dropoutRatio.length > 1 && config.dropoutRatio.length !== n) {
      throw new Error(`Expected 1 or ${n} values in dropout_ratio of ${where} but received ${config.dropoutRatio.length}`);
    }
    this.dropout = config.hiddenUnits.map((_, i) => config.dropoutRatio[config.dropoutRatio.length === 1 ? 0 : i] ?? 0);
    let dim = inputDim;
    this.layers = config.hiddenUnits.map((units, i) => {
      const layer = new Dense(dim, units, { activation: act, bias: config.bias ?? true, seed: options.seed + 17 * i, name: `${options.name}/mlp_${i}` });
      dim = units;
      return layer;
    });
  }

  /** Width of the output. */
  get outputDim(): number {
    return this.layers[this.layers.length - 1].outputDim;
  }

  /** [B, inputDim] → [B, outputDim]; dropout only when training. */
  apply(x: tf.Tensor2D, training = false): tf.Tensor2D {
    let y = x;
    this.layers.forEach((layer, i) => {
      y = layer.apply(y);
      if (training && this.dropout[i] > 0) y = tf.dropout(y, this.dropout[i]) as tf.Tensor2D;
    });
    return y;
  }

  /** Trainable variables. */
  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }
}
