// Batched matmul with transposes and a fused bias + activation epilogue, through Sgemm (OpenBLAS
// or the built-in GEMM). Backs the tfjs BatchMatMul and _FusedMatMul kernels of the `tsrec`
// backend; batch broadcasting follows tfjs's cpu kernel (batch index bi % batch_a, bi % batch_b).
#pragma once
#include <cstdint>

#include "tsrec/activation.h"

namespace tsrec {

/** Bias + activation applied to each [m, n] output block, row-major. */
struct MatMulEpilogue {
  const float* bias = nullptr;  // nullptr, or bias_len values broadcast along rows
  int64_t bias_len = 0;         // 1 (scalar) or n (per column)
  Activation activation = Activation::kLinear;
  float leaky_alpha = 0.2f;
  const float* prelu_alpha = nullptr;  // for kPrelu: prelu_len values (1 or n)
  int64_t prelu_len = 0;
};

/**
 * out[bi] = epilogue(op(a[bi % batch_a]) · op(b[bi % batch_b])) for bi < max(batch_a, batch_b).
 * a is [batch_a, m, k] (or [batch_a, k, m] when trans_a), b is [batch_b, k, n] (or [batch_b, n, k]
 * when trans_b), out is [batch, m, n]. Callers check shapes; this only computes.
 */
void BatchMatMul(const float* a, const float* b, float* out, int64_t batch_a, int64_t batch_b, int64_t m, int64_t n,
                 int64_t k, bool trans_a, bool trans_b, const MatMulEpilogue* epilogue);

/** Applies `ep` (bias, then activation) in place to a row-major [rows, n] output. */
void ApplyMatMulEpilogue(float* out, int64_t rows, int64_t n, const MatMulEpilogue& ep);
/** ApplyMatMulEpilogue on rows [0, rows) of out on the calling thread (one GEMM panel). */
void ApplyMatMulEpilogueRows(float* out, int64_t rows, int64_t n, const MatMulEpilogue& ep);

/** Sets OpenBLAS's thread count once for all later calls (n <= 0: leave as is); returns the count in use. */
int SetBlasThreads(int n);

}  // namespace tsrec
