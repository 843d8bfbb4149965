import * as tf from '@tensorflow/tfjs-core';

/** Layer normalisation over the last axis (torch's nn.LayerNorm: ε = 1e-5, γ = 1, β = 0 at start). */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(
    readonly dim: number,
    options: { name: string; epsilon?: number },
    private readonly epsilon = options.epsilon ?? 1e-5,
  ) {
    this.gamma = tf.variable(tf.ones([dim]), true, `${options.name}/gamma`);
    this.beta = tf.variable(tf.zeros([dim]), true, `${options.name}/beta`);
  }

  /**
   * [B, D] → [B, D]. Row statistics are spread back over the row by matmuls with ones rather
   * than [B, 1]-against-[B, D] broadcasts, which the tfjs cpu backend runs per element slowly.
   */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const [B, D] = x.shape;
    const average = tf.fill([D, 1], 1 / D);
    const spread = tf.ones([1, D]);
    const centered = tf.sub(x, tf.matMul(tf.matMul(x, average), spread));
    const scale = tf.matMul(tf.rsqrt(tf.add(tf.matMul(tf.mul(centered, centered), average), this.epsilon)), spread);
    // γ and β reach the rows through ones [B, 1] too, so their gradients are matmuls, not axis-0 sums.
    const rows = tf.ones([B, 1]);
    const gamma = tf.matMul(rows, tf.reshape(this.gamma, [1, D]));
    const beta = tf.matMul(rows, tf.reshape(this.beta, [1, D]));
    return tf.add(tf.mul(tf.mul(centered, scale), gamma), beta);
  }

  /** Variables of the layer (all trainable). */
  get variables(): tf.Variable[] {
    return [this.gamma, this.beta];
  }
}
