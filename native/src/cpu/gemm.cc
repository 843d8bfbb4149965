#include "tsrec/gemm.h"

#include <algorithm>
#include <string>
#include <vector>

#if defined(TSREC_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace tsrec {

#if defined(TSREC_HAVE_OPENBLAS)
void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
           float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}
const char* BlasDescription() {
  static std::string d = std::string("openblas (") + openblas_get_corename() + ", " + std::to_string(openblas_get_num_threads()) + " threads)";
  return d.c_str();
}
#else
// Fallback: pack op(B) into a contiguous [k, n] panel, then i-k-j loops the compiler vectorises.
void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
           float beta, float* c, int64_t ldc) {
  std::vector<float> bp(static_cast<size_t>(k * n));
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) bp[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) std::fill(ci, ci + n, 0.0f);
    else
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    for (int64_t p = 0; p < k; ++p) {
      const float av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
      const float* bj = bp.data() + p * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bj[j];
    }
  }
}
const char* BlasDescription() { return "built-in (slow: install libopenblas-dev and rebuild)"; }
#endif

}  // namespace tsrec
