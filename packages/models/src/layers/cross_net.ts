import * as tf from '@tensorflow/tfjs-core';

import { crossV2Layer } from '../ops/cross_v2_layer';

/**
 * DCN's cross network (Wang et al. 2017; TorchEasyRec's `Cross`): `crossNum` layers
 * x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l, with w_l [D, 1] and b_l [D] (2·D parameters a layer).
 */
export class CrossNet {
  private readonly weights: tf.Variable[];
  private readonly biases: tf.Variable[];

  constructor(
    readonly dim: number,
    crossNum: number,
    options: { name: string; seed: number },
  ) {
    if (!(crossNum > 0))
      throw new Error(`Expected cross_num > 0 for cross network '${options.name}' but received ${crossNum}`);
    const bound = 1 / Math.sqrt(dim);
    this.weights = Array.from({ length: crossNum }, (_, i) =>
      tf.variable(
        tf.randomUniform([dim, 1], -bound, bound, 'float32', options.seed + 7 * i),
        true,
        `${options.name}/cross_${i}/kernel`,
      ),
    );
    this.biases = Array.from({ length: crossNum }, (_, i) =>
      tf.variable(tf.zeros([dim]), true, `${options.name}/cross_${i}/bias`),
    );
  }

  /** [B, D] → [B, D]. The scalar x_l·w_l of each row is spread over the row by a matmul with ones (no broadcast). */
  apply(x0: tf.Tensor2D): tf.Tensor2D {
    const spread = tf.ones([1, this.dim]);
    let x = x0;
    this.weights.forEach((w, i) => {
      x = tf.add(
        tf.add(tf.mul(x0, tf.matMul(tf.matMul(x, w as tf.Tensor2D), spread)), this.biases[i]),
        x,
      ) as tf.Tensor2D;
    });
    return x;
  }

  get outputDim(): number {
    return this.dim;
  }

  /** Variables of the layer (all trainable). */
  get variables(): tf.Variable[] {
    return [...this.weights, ...this.biases];
  }
}

/**
 * DCNv2's low-rank cross network (Wang et al. 2021; TorchEasyRec's `CrossV2`): `crossNum`
 * layers x_{l+1} = x0 ⊙ ((x_l·U_l)·V_l + b_l) + x_l, U_l [D, r], V_l [r, D], b_l [D], each one
 * fused `crossV2Layer` op (2·D·r + D parameters a layer).
 */
export class CrossV2Net {
  private readonly layers: { u: tf.Variable; v: tf.Variable; bias: tf.Variable }[];

  constructor(
    readonly dim: number,
    crossNum: number,
    lowRank: number,
    options: { name: string; seed: number },
  ) {
    if (!(crossNum > 0))
      throw new Error(`Expected cross_num > 0 for cross network '${options.name}' but received ${crossNum}`);
    if (!(lowRank > 0))
      throw new Error(`Expected low_rank > 0 for cross network '${options.name}' but received ${lowRank}`);
    const bu = 1 / Math.sqrt(dim);
    const bv = 1 / Math.sqrt(lowRank);
    this.layers = Array.from({ length: crossNum }, (_, i) => ({
      u: tf.variable(
        tf.randomUniform([dim, lowRank], -bu, bu, 'float32', options.seed + 7 * i),
        true,
        `${options.name}/cross_${i}/u`,
      ),
      v: tf.variable(
        tf.randomUniform([lowRank, dim], -bv, bv, 'float32', options.seed + 7 * i + 3),
        true,
        `${options.name}/cross_${i}/v`,
      ),
      bias: tf.variable(tf.zeros([dim]), true, `${options.name}/cross_${i}/bias`),
    }));
  }

  /** [B, D] → [B, D]. */
  apply(x0: tf.Tensor2D): tf.Tensor2D {
    let x = x0;
    for (const l of this.layers) x = crossV2Layer(x0, x, l.u as tf.Tensor2D, l.v as tf.Tensor2D, l.bias as tf.Tensor1D);
    return x;
  }

  get outputDim(): number {
    return this.dim;
  }

  /** Variables of the layer (all trainable). */
  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => [l.u, l.v, l.bias]);
  }
}
