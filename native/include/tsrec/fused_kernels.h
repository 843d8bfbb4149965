// Fused recsys kernels behind the `tsrec` backend's custom-gradient tfjs ops (packages/models
// ops/losses call them through @tsrec/native when the backend is `tsrec`): the FM second-order
// interaction (forward and backward in one pass each), the sigmoid binary cross-entropy with
// logits (loss and d_logits in one pass), and element-wise Adam and ReLU-gradient steps.
// Each follows its TS reference (packages/models/src/{ops,losses}/kernels, tfjs-core's Adam)
// operation by operation: the FM and the loss accumulate in double as the JS loops do; Adam
// performs tfjs's float32 operations in tfjs's order, so it matches the cpu backend bit for bit.
// Large inputs are split statically across the global thread pool (results never depend on it).
#pragma once
#include <cstdint>

namespace tsrec {

/** out[b, d] = ½((Σ_n x[b,n,d])² − Σ_n x[b,n,d]²) for x [B, N, D]; out is [B, D]. */
void FmInteractionForward(const float* x, int64_t B, int64_t N, int64_t D, float* out);

/** dx[b, n, d] = dy[b, d] · (Σ_m x[b,m,d] − x[b,n,d]); dx is [B, N, D] and may not alias x. */
void FmInteractionBackward(const float* x, const float* dy, int64_t B, int64_t N, int64_t D, float* dx);

/**
 * Sigmoid BCE with logits over n samples, reduced as Σ w·ℓ / Σ w (weights may be null: all 1):
 *   y' = y·(1 − s) + s/2,  ℓ = max(x,0) − x·y' + log1p(e^{−|x|}),  d_logits = w(σ(x) − y')/Σw.
 * Exact for any finite logit. Returns the loss (0 with zero gradients when Σ w = 0). When some
 * logit is NaN/±Inf, returns NaN, writes nothing and sets *bad_index to the first such index
 * (else -1).
 */
double SigmoidBceWithLogits(const float* logits, const float* labels, const float* weights, int64_t n,
                            double label_smoothing, float* d_logits, int64_t* bad_index);

/** tfjs AdamOptimizer's constants for one step, as float32 scalars (see AdamUpdate). */
struct AdamConstants {
  float beta1, one_minus_beta1;  // beta1, 1 - beta1
  float beta2, one_minus_beta2;
  float one_minus_acc_beta1;  // 1 - beta1^t (tfjs: sub(1, accBeta1))
  float one_minus_acc_beta2;
  float neg_lr;  // -learningRate
  float epsilon;
};

/**
 * One Adam step in tfjs's float32 order:
 *   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2)
 *   value' = ((m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε))·(−lr) + value
 * Outputs may alias their own input (value_out == value etc.).
 */
void AdamUpdate(const float* value, const float* m, const float* v, const float* g, int64_t n, const AdamConstants& c,
                float* value_out, float* m_out, float* v_out);

/** dx[i] = y[i] > 0 ? dy[i] : 0 (ReLU's gradient from its output, NaN in y gives NaN·dy as tfjs's mul(dy, step(y))). */
void ReluGrad(const float* dy, const float* y, int64_t n, float* dx);

/** out[j] = Σ_r x[r, j] over rows of a [rows, cols] matrix (double accumulation, as SumReduce). */
void ColumnSum(const float* x, int64_t rows, int64_t cols, float* out);

/**
 * Backward of y = act(x·w + bias) for x [M, K], w [K, N], y [M, N] (act: linear or ReLU, the
 * mask taken from y as tfjs's mul(dy, step(·)) does): dz = act'(dy), then
 *   dx = dz·wᵀ [M, K],  dw = xᵀ·dz [K, N],  db = Σ_rows dz [N] (when db is not null)
 * in one call (dz lives in a reused per-thread scratch buffer). The GEMMs go through Sgemm; db as
 * in DenseBlocksBackward.
 */
void DenseBackward(const float* x, const float* w, const float* y, const float* dy, int64_t M, int64_t K, int64_t N,
                   bool relu, float* dx, float* dw, float* db);

/** One input block of a dense layer whose input is several [M, k] matrices side by side. */
struct DenseBlock {
  const float* x;  // [M, k], row-major
  int64_t k;
};

/**
 * A dense layer over an input given as column blocks: with x = [x_0 | x_1 | …] ([M, ΣK_i]) and
 * w_i the rows k0_i .. k0_i + K_i of w [ΣK_i, N],
 *   y = act(Σ_i x_i·w_i + bias)   (act: linear or ReLU; the GEMMs accumulate into y in block order)
 * so the concatenated input is never built (a feature group's dense and embedding columns feed
 * the first MLP layer this way). Same maths as one GEMM on x; the float sums group by block.
 */
void DenseBlocksForward(const DenseBlock* xs, int num_blocks, const float* w, const float* bias, bool relu, int64_t M,
                        int64_t N, float* y);

/**
 * Backward of DenseBlocksForward: dz = act'(dy) (the mask from y, as DenseBackward), then per
 * block dx_i = dz·w_iᵀ [M, K_i] and dw rows k0_i.. = x_iᵀ·dz, and db = Σ_rows dz (when not null).
 * The mask and db are one pass: db sums blocks of 256 rows in double, then the blocks in order
 * (deterministic; equal to ColumnSum's sequential double sum up to the final rounding).
 * DenseBackward is the one-block case. A null dxs[i] (null dx for DenseBackward) skips that
 * block's input gradient: the block is input data.
 */
void DenseBlocksBackward(const DenseBlock* xs, int num_blocks, const float* w, const float* y, const float* dy,
                         int64_t M, int64_t N, bool relu, float* const* dxs, float* dw, float* db);

}  // namespace tsrec
