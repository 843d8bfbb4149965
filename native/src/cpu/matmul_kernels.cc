#include "tsrec/matmul_kernels.h"

#include <algorithm>
#include <cstring>

#include "tsrec/gemm.h"
#include "tsrec/thread_pool.h"

#if defined(TSREC_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace tsrec {

// Bias + activation over rows x n, split by rows across the pool (static ranges: deterministic).
void ApplyMatMulEpilogueRows(float* y, int64_t cnt, int64_t n, const MatMulEpilogue& ep) {
  if (!ep.bias && ep.activation == Activation::kLinear) return;
  if (ep.bias) {
    if (ep.bias_len == 1) {
      const float b = ep.bias[0];
      for (int64_t i = 0; i < cnt * n; ++i) y[i] += b;
    } else {
      for (int64_t r = 0; r < cnt; ++r)
        for (int64_t j = 0; j < n; ++j) y[r * n + j] += ep.bias[j];
    }
  }
  ApplyActivation(ep.activation, y, cnt, n, ep.leaky_alpha, ep.prelu_alpha, ep.prelu_len);
}

void ApplyMatMulEpilogue(float* out, int64_t rows, int64_t n, const MatMulEpilogue& ep) {
  if (!ep.bias && ep.activation == Activation::kLinear) return;
  ForRanges(rows, n, [&](int64_t r0, int64_t r1) { ApplyMatMulEpilogueRows(out + r0 * n, r1 - r0, n, ep); });
}

void BatchMatMul(const float* a, const float* b, float* out, int64_t batch_a, int64_t batch_b, int64_t m, int64_t n,
                 int64_t k, bool trans_a, bool trans_b, const MatMulEpilogue* epilogue) {
  const int64_t batch = std::max(batch_a, batch_b);
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(batch * m * n));
  } else {
    // BLAS rejects leading dimensions below 1 even when unused.
    const int64_t lda = std::max<int64_t>(1, trans_a ? m : k), ldb = std::max<int64_t>(1, trans_b ? k : n);
    if (batch_b == 1 && !trans_a && batch_a == batch) {
      // One weight matrix for every batch entry and a row-contiguous A: a single [batch*m, k] GEMM,
      // in row panels with the epilogue applied to each panel while it is in cache.
      if (epilogue && RunGemmPanels(batch * m, n, k, [&](int64_t r0, int64_t r1) {
            Sgemm(false, trans_b, r1 - r0, n, k, 1.0f, a + r0 * lda, lda, b, ldb, 0.0f, out + r0 * n, n);
            ApplyMatMulEpilogueRows(out + r0 * n, r1 - r0, n, *epilogue);
          }))
        return;
      Sgemm(false, trans_b, batch * m, n, k, 1.0f, a, lda, b, ldb, 0.0f, out, n);
    } else {
      for (int64_t bi = 0; bi < batch; ++bi) {
        Sgemm(trans_a, trans_b, m, n, k, 1.0f, a + (bi % batch_a) * m * k, lda, b + (bi % batch_b) * k * n, ldb, 0.0f,
              out + bi * m * n, n);
      }
    }
  }
  if (epilogue) ApplyMatMulEpilogue(out, batch * m, n, *epilogue);
}

int SetBlasThreads(int n) {
#if defined(TSREC_HAVE_OPENBLAS)
  if (n > 0) openblas_set_num_threads(n);
  return openblas_get_num_threads();
#else
  (void)n;
  return 1;
#endif
}

}  // namespace tsrec
