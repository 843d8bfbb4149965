import * as tf from '@tensorflow/tfjs-core';

/**
 * Batch normalisation over the batch axis of [B, D] (torch's nn.BatchNorm1d: ε = 1e-5,
 * momentum 0.1, γ = 1 and β = 0 at start). Training normalises with the batch's mean and biased
 * variance and moves `movingMean`/`movingVariance` (the unbiased variance, as torch) towards
 * them; inference uses the moving statistics. The moving statistics are non-trainable
 * variables (`trainable: false`), saved and restored with the model's other variables.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  private readonly epsilon: number;
  private readonly momentum: number;

  constructor(
    readonly dim: number,
    options: { name: string; epsilon?: number; momentum?: number },
  ) {
    this.epsilon = options.epsilon ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.gamma = tf.variable(tf.ones([dim]), true, `${options.name}/gamma`);
    this.beta = tf.variable(tf.zeros([dim]), true, `${options.name}/beta`);
    this.movingMean = tf.variable(tf.zeros([dim]), false, `${options.name}/moving_mean`);
    this.movingVariance = tf.variable(tf.ones([dim]), false, `${options.name}/moving_variance`);
  }

  /**
   * [B, D] → [B, D]. Batch sums and the spreading of [D] statistics over rows are matmuls with
   * ones (no axis-0 reductions or [D]-against-[B, D] broadcasts, slow on the tfjs cpu backend).
   * With `training`, also updates the moving statistics (not differentiated).
   */
  apply(x: tf.Tensor2D, training = false): tf.Tensor2D {
    const [B, D] = x.shape;
    const rows = tf.ones([B, 1]);
    const spread = (v: tf.Tensor) => tf.matMul(rows, tf.reshape(v, [1, D]));
    if (!training) {
      const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(this.movingVariance, this.epsilon)));
      const shift = tf.sub(this.beta, tf.mul(this.movingMean, scale));
      return tf.add(tf.mul(x, spread(scale)), spread(shift));
    }
    const average = tf.fill([1, B], 1 / B);
    const mean = tf.matMul(average, x); // [1, D]
    const centered = tf.sub(x, tf.matMul(rows, mean));
    const variance = tf.matMul(average, tf.mul(centered, centered)); // biased, [1, D]
    const m = this.momentum;
    const unbiased = B > 1 ? tf.mul(variance, B / (B - 1)) : variance;
    // The moving statistics are plain values: computed from copies so no gradient flows into them.
    const meanValue = tf.tensor1d(mean.dataSync() as Float32Array);
    const varValue = tf.tensor1d(unbiased.dataSync() as Float32Array);
    this.movingMean.assign(tf.add(tf.mul(this.movingMean, 1 - m), tf.mul(meanValue, m)));
    this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, 1 - m), tf.mul(varValue, m)));
    const scale = tf.mul(tf.rsqrt(tf.add(variance, this.epsilon)), tf.reshape(this.gamma, [1, D]));
    return tf.add(tf.mul(centered, tf.matMul(rows, scale)), spread(this.beta));
  }

  /** γ and β (trainable), then the moving mean and variance (non-trainable). */
  get variables(): tf.Variable[] {
    return [this.gamma, this.beta, this.movingMean, this.movingVariance];
  }
}
