#include "tsrec/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "tsrec/thread_pool.h"

#if defined(TSREC_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace tsrec {

namespace {

bool panels_enabled() {
  static const bool on = [] {
    const char* s = std::getenv("TSREC_GEMM_PANELS");
    return !(s && s[0] == '0');
  }();
  return on;
}

// Set on the threads running a panel: a GEMM inside a panel (DenseBlocksForward's per-block calls)
// runs as one call, never dispatching or splitting again.
thread_local bool in_panel = false;

// Multiply-adds below which a GEMM runs as one call (panels cost more than they balance).
constexpr int64_t kMinPanelWork = int64_t{1} << 22;

struct PanelScope {  // restores in_panel even when a panel throws
  bool prev = in_panel;
  PanelScope() { in_panel = true; }
  ~PanelScope() { in_panel = prev; }
};

#if defined(TSREC_HAVE_OPENBLAS)
// OpenBLAS single-threaded while any panel runs (its threaded driver may round differently, and
// the pool runs panels side by side). Counted: the first scope saves and sets, the last restores.
std::mutex blas_mu;
int blas_scopes = 0;
int blas_saved = 1;
struct BlasOneThread {
  BlasOneThread() {
    std::lock_guard<std::mutex> lk(blas_mu);
    if (blas_scopes++ == 0) {
      blas_saved = openblas_get_num_threads();
      if (blas_saved != 1) openblas_set_num_threads(1);
    }
  }
  ~BlasOneThread() {
    std::lock_guard<std::mutex> lk(blas_mu);
    if (--blas_scopes == 0 && blas_saved != 1) openblas_set_num_threads(blas_saved);
  }
};
#else
struct BlasOneThread {};
#endif

}  // namespace

int64_t GemmPanelRows(int64_t m, int64_t n, int64_t k) {
  // A function of the shape only: the same panels (the same single-threaded BLAS calls) for any
  // thread count, so the bits never depend on it. 256 rows measured as fast as 512–1024 on the
  // DeepFM layers (NOTES.md, session 9) and leave panels for up to ~16 threads at batch 4096.
  // A shape that takes inner-dimension panels never takes row panels; nor does a GEMM inside a
  // panel (a slice of one whose shape already decided).
  if (!panels_enabled() || in_panel || m < 512 || m * n * k < kMinPanelWork || InnerPanelRows(m, n, k) > 0) return 0;
  return 256;
}

namespace {
// Panels run side by side when the pool has two threads or more and this is not already a pool
// job; otherwise one after the other (the same calls, so the same bits).
void RunPanelsOf(int64_t m, int64_t rows, const std::function<void(int64_t, int64_t)>& panel) {
  const int64_t count = (m + rows - 1) / rows;
  BlasOneThread one;
  auto run = [&](int64_t p0, int64_t p1, int) {
    PanelScope scope;
    for (int64_t p = p0; p < p1; ++p) panel(p * rows, std::min(m, (p + 1) * rows));
  };
  if (ThreadPool::global().num_threads() >= 2 && !ThreadPool::in_job()) {
    ThreadPool::global().parallel_for_dynamic(count, 1, run);
  } else {
    run(0, count, 0);
  }
}
}  // namespace

bool RunGemmPanels(int64_t m, int64_t n, int64_t k, const std::function<void(int64_t, int64_t)>& panel) {
  const int64_t rows = GemmPanelRows(m, n, k);
  if (rows == 0) return false;
  RunPanelsOf(m, rows, panel);
  return true;
}

int64_t InnerPanelRows(int64_t m, int64_t n, int64_t k) {
  // At least 1024 deep (a partial per ~4096-row batch costs little beside its GEMM), at most 8
  // partials; with OpenBLAS only (the built-in kernel runs as one call).
#if defined(TSREC_HAVE_OPENBLAS)
  // Not inside a row panel: that GEMM is a slice of one whose shape already decided against it.
  if (!panels_enabled() || in_panel || m <= 0 || n <= 0 || k < 2048 || m * n > (int64_t{1} << 18) ||
      m * n * k < kMinPanelWork)
    return 0;
  const int64_t rows = std::max<int64_t>(1024, ((k + 7) / 8 + 63) / 64 * 64);
  return rows < k ? rows : 0;
#else
  (void)m, (void)n, (void)k;
  return 0;
#endif
}

#if defined(TSREC_HAVE_OPENBLAS)
namespace {
void SgemmBlas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
}  // namespace

void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc) {
  // A small C over a long inner dimension (a weight gradient xᵀ·dz over the batch): panels of the
  // inner dimension, each a single-threaded BLAS call into its own partial C, then the partials
  // added in panel order. The panels are a function of the shape only, so the bits depend neither
  // on the thread counts nor on which thread ran which panel; they run side by side when the pool
  // has threads to spare.
  // Row panels (below) are single-threaded BLAS calls of a shape-only height too.
  if (const int64_t rows = InnerPanelRows(m, n, k); rows > 0) {
    static thread_local std::vector<float> partial;
    const int64_t count = (k + rows - 1) / rows;
    const int64_t mn = m * n;
    if (partial.size() < static_cast<size_t>(count * mn)) partial.resize(static_cast<size_t>(count * mn));
    float* part = partial.data();
    auto one = [&](int64_t k0, int64_t k1) {
      const float* ap = ta ? a + k0 * lda : a + k0;
      const float* bp = tb ? b + k0 : b + k0 * ldb;
      SgemmBlas(ta, tb, m, n, k1 - k0, alpha, ap, lda, bp, ldb, 0.0f, part + (k0 / rows) * mn, n);
    };
    RunPanelsOf(k, rows, one);
    ForRanges(m, n * count, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float* ci = c + i * ldc;
        const float* p0 = part + i * n;
        if (beta == 0.0f) {
          for (int64_t j = 0; j < n; ++j) ci[j] = p0[j];
          for (int64_t p = 1; p < count; ++p)
            for (int64_t j = 0; j < n; ++j) ci[j] += p0[p * mn + j];
        } else {
          for (int64_t j = 0; j < n; ++j) {
            float acc = p0[j];
            for (int64_t p = 1; p < count; ++p) acc += p0[p * mn + j];
            ci[j] = beta * ci[j] + acc;
          }
        }
      }
    });
    return;
  }
  // Row panels of C (and of A, row-major when !ta) on the pool's dynamic schedule.
  if (!ta && m > 0 && n > 0 && k > 0 && RunGemmPanels(m, n, k, [&](int64_t r0, int64_t r1) {
        SgemmBlas(false, tb, r1 - r0, n, k, alpha, a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc, ldc);
      }))
    return;
  SgemmBlas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
const char* BlasDescription() {
  static std::string d = std::string("openblas (") + openblas_get_corename() + ", " +
                         std::to_string(openblas_get_num_threads()) + " threads)";
  return d.c_str();
}
#else
namespace {
// Fallback: pack op(B) into a contiguous [k, n] panel, then i-k-j loops the compiler vectorises.
void SgemmBuiltin(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  std::vector<float> bp(static_cast<size_t>(k * n));
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) bp[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f)
      std::fill(ci, ci + n, 0.0f);
    else
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    for (int64_t p = 0; p < k; ++p) {
      const float av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
      const float* bj = bp.data() + p * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bj[j];
    }
  }
}
}  // namespace

void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc) {
  // Row panels on the pool, as with OpenBLAS: each row of C is computed alone, so the bits are
  // those of one call whatever the panels.
  if (!ta && m > 0 && n > 0 && k > 0 && RunGemmPanels(m, n, k, [&](int64_t r0, int64_t r1) {
        SgemmBuiltin(false, tb, r1 - r0, n, k, alpha, a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc, ldc);
      }))
    return;
  SgemmBuiltin(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
const char* BlasDescription() { return "built-in (slow: install libopenblas-dev and rebuild)"; }
#endif

}  // namespace tsrec
