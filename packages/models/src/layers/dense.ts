import * as tf from '@tensorflow/tfjs-core';

import { fusedDense } from '../ops/fused_dense';

/** Activations of `Dense`, as tfjs's fused matmul names them (plus tanh, gelu and silu, applied after). */
export type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'tanh' | 'gelu' | 'silu';

/** Activations the fused matmul kernels do not run: applied after the linear part. */
const UNFUSED = new Set<Activation>(['tanh', 'gelu', 'silu']);

/** torch's nn.LeakyReLU default negative slope (tfjs's fused default is 0.2). */
export const LEAKY_RELU_ALPHA = 0.01;

/** Applies an activation on its own (for layers normalised between the matmul and the activation). */
export function applyActivation(x: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'elu':
      return tf.elu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'leakyrelu':
      return tf.leakyRelu(x, LEAKY_RELU_ALPHA);
    case 'tanh':
      return tf.tanh(x);
    case 'gelu':
      // torch's nn.GELU (approximate='none'): x · Φ(x) = x · (1 + erf(x / √2)) / 2
      return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))) as tf.Tensor2D;
    case 'silu':
      return tf.tidy(() => tf.mul(x, tf.sigmoid(x))) as tf.Tensor2D;
  }
}

/** Options of `Dense`. */
export interface DenseOptions {
  activation?: Activation;
  bias?: boolean;
  /** Seed of the initialisation (uniform ±1/√in, torch's nn.Linear default). */
  seed: number;
  name: string;
}

/**
 * A fully connected layer y = act(x·W + b) on tfjs variables, run as one `_FusedMatMul`
 * (BLAS with the bias and activation fused on the tsrec backend).
 */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly activation: Activation;

  constructor(
    readonly inputDim: number,
    readonly outputDim: number,
    options: DenseOptions,
  ) {
    const bound = 1 / Math.sqrt(inputDim);
    this.kernel = tf.variable(
      tf.randomUniform([inputDim, outputDim], -bound, bound, 'float32', options.seed),
      true,
      `${options.name}/kernel`,
    );
    this.bias =
      options.bias === false
        ? null
        : tf.variable(
            tf.randomUniform([outputDim], -bound, bound, 'float32', options.seed + 1),
            true,
            `${options.name}/bias`,
          );
    this.activation = options.activation ?? 'linear';
  }

  /**
   * [B, inputDim] → [B, outputDim]. `x` may be column blocks whose concatenation is the input
   * (`GroupedFeatures.blocks`): on the tsrec backend the layer then never builds it.
   */
  apply(x: tf.Tensor2D | readonly tf.Tensor2D[]): tf.Tensor2D {
    const unfused = UNFUSED.has(this.activation);
    const fusedAct = unfused ? 'linear' : (this.activation as Exclude<Activation, 'tanh' | 'gelu' | 'silu'>);
    // fusedDense: one native kernel forward and one backward on the tsrec backend (tf.fused.matMul's
    // gradient splits into separate ops); tf.fused.matMul elsewhere.
    const y = fusedDense(
      x,
      this.kernel as tf.Tensor2D,
      (this.bias as tf.Tensor1D | null) ?? null,
      fusedAct,
      LEAKY_RELU_ALPHA,
    );
    return unfused ? applyActivation(y as tf.Tensor2D, this.activation) : (y as tf.Tensor2D);
  }

  /** Variables of the layer (all trainable). */
  get variables(): tf.Variable[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }
}
