/**
 * Names and contracts of tsrec's fused-op kernels, declared once, as tfjs-core's kernel_names.ts
 * declares its own. An op (@tsrec/models) runs one by name with `engine().runKernel(name, inputs,
 * attrs)`; every backend registers its kernel for the name: the `tsrec` backend a native one where
 * it has it (register_all_kernels.ts), the others (and `tsrec` for the rest) the TS reference
 * kernels that @tsrec/models registers. Gradients of the interaction kernels are GradConfigs
 * (gradients/); the dense and loss ops wrap their kernels in a customGrad.
 */

/** FM interaction: input `x` [B, N, D] float32 → [B, D], ½((Σ_n x)² − Σ_n x²) per dim. */
export const TSREC_FM_INTERACTION = 'TsrecFmInteraction';
/** Its backward: inputs `x` [B, N, D] and `dy` [B, D] → dx [B, N, D]. */
export const TSREC_FM_INTERACTION_GRAD = 'TsrecFmInteractionGrad';

/**
 * DLRM dot interaction: input `x` [B, N, D] float32 → [B, N(N−1)/2], the inner products of the
 * pairs i < j in row-major upper-triangle order.
 */
export const TSREC_DOT_INTERACTION = 'TsrecDotInteraction';
/** Its backward: inputs `x` [B, N, D] and `dy` [B, N(N−1)/2] → dx [B, N, D]. */
export const TSREC_DOT_INTERACTION_GRAD = 'TsrecDotInteractionGrad';

/**
 * A dense layer, y = act(x·w + bias): inputs x [M, K], w [K, N] and optionally bias [N], float32
 * and 2-D (tfjs's _FusedMatMul takes 3-D on some backends); attr `activation` ('linear' |
 * 'relu'); output y [M, N].
 */
export const TSREC_DENSE = 'TsrecDense';
/**
 * Its backward: inputs x [M, K], w [K, N], dy [M, N] and, for ReLU, y [M, N]; attrs `activation`
 * ('linear' | 'relu'), `hasBias` and `noInputGrad` (x is input data: dx is not computed and its
 * output is a scalar 0); outputs dx [M, K], dw [K, N] and, with a bias, db [N].
 */
export const TSREC_DENSE_GRAD = 'TsrecDenseGrad';

/**
 * A dense layer over an input given as column blocks: inputs `x0` … `x{n-1}` ([M, K_i], side by
 * side the layer's [M, ΣK_i] input), `w` [ΣK_i, N] and optionally `bias` [N]; attrs `activation`
 * ('linear' | 'relu') and `numBlocks`; output y [M, N].
 */
export const TSREC_DENSE_BLOCKS = 'TsrecDenseBlocks';
/**
 * Its backward: the same blocks, `w`, `y` and `dy`; attrs as the forward's plus `hasBias` and
 * `noGradBlocks` (blocks that are input data: their dx is not computed and is a scalar 0);
 * outputs dx_0 … dx_{n-1}, dw and, with `hasBias`, db.
 */
export const TSREC_DENSE_BLOCKS_GRAD = 'TsrecDenseBlocksGrad';

/**
 * The fused losses: input `logits` float32; outputs the weighted mean loss (a float32 scalar) and
 * d_logits (logits' shape), both from one pass. A non-finite logit throws the op's
 * "Expected finite logits …" error. Labels and weights are per-sample host arrays passed as attrs,
 * not tensors: the kernels read them once on the host, and a float64 array keeps its precision
 * in the reference kernels. Losses have no backward kernel: the op scales d_logits by dy.
 */
export interface FusedLossAttrs {
  /** One label (0/1 or a target; a class id for softmax cross-entropy) per sample. */
  labels: ArrayLike<number>;
  /** Non-negative per-sample weights (null: all 1); the loss is Σ w·ℓ / Σ w. */
  weights: ArrayLike<number> | null;
}

/** Sigmoid BCE with logits [B] or [B, 1]; attrs FusedLossAttrs and `labelSmoothing`. */
export const TSREC_SIGMOID_BCE = 'TsrecSigmoidBce';
/** Attrs of TsrecSigmoidBce: targets become y·(1 − s) + s/2. */
export interface SigmoidBceAttrs extends FusedLossAttrs {
  labelSmoothing: number;
}

/** Softmax cross-entropy of logits [B, C] against class ids; attrs FusedLossAttrs and `labelSmoothing`. */
export const TSREC_SOFTMAX_CROSS_ENTROPY = 'TsrecSoftmaxCrossEntropy';
/** Attrs of TsrecSoftmaxCrossEntropy: targets become (1 − s)·onehot + s/C. */
export interface SoftmaxCrossEntropyAttrs extends FusedLossAttrs {
  labelSmoothing: number;
}

/** Squared error of predictions [B] or [B, 1]; attrs FusedLossAttrs. */
export const TSREC_L2_LOSS = 'TsrecL2Loss';

/** Binary focal loss on logits [B] or [B, 1]; attrs FusedLossAttrs, `gamma`, `alpha`, `detachWeight`. */
export const TSREC_BINARY_FOCAL_LOSS = 'TsrecBinaryFocalLoss';
/** Attrs of TsrecBinaryFocalLoss (TorchEasyRec's BinaryFocalLoss). */
export interface BinaryFocalLossAttrs extends FusedLossAttrs {
  gamma: number;
  alpha: number;
  /** Treat the focal factor as a constant in d_logits. */
  detachWeight: boolean;
}
