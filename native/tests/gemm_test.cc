// Sgemm (OpenBLAS or the built-in fallback) against a naive triple loop, all transposes.
#include "tsrec/gemm.h"
#include "test_util.h"
#include "tsrec/matmul_kernels.h"
#include "tsrec/thread_pool.h"

// Inner-dimension panels exist only with OpenBLAS: the built-in GEMM runs a long inner dimension
// as one call. Row panels exist with both.
#if defined(TSREC_HAVE_OPENBLAS)
constexpr bool kInnerPanels = true;
#else
constexpr bool kInnerPanels = false;
#endif

TEST_CASE(sgemm_matches_naive_all_transposes) {
  std::mt19937_64 rng(tsrec_test::seed_from_env());
  for (int trial = 0; trial < 20; ++trial) {
    int64_t m = 1 + rng() % 40, n = 1 + rng() % 40, k = 1 + rng() % 40;
    bool ta = rng() % 2, tb = rng() % 2;
    std::vector<float> a(m * k), b(k * n), c(m * n), r(m * n);
    for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    for (auto& v : b) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    for (size_t i = 0; i < c.size(); ++i) c[i] = r[i] = std::uniform_real_distribution<float>(-1, 1)(rng);
    const float alpha = 0.7f, beta = trial % 2 ? 0.0f : 0.5f;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
        r[i * n + j] = static_cast<float>(alpha * acc + beta * r[i * n + j]);
      }
    tsrec::Sgemm(ta, tb, m, n, k, alpha, a.data(), ta ? m : k, b.data(), tb ? k : n, beta, c.data(), n);
    int64_t bad = tsrec_test::first_mismatch(c.data(), r.data(), m * n, 1e-4f, 1e-4f);
    CHECK_MSG(bad < 0, "m=%ld n=%ld k=%ld ta=%d tb=%d at %ld", (long)m, (long)n, (long)k, ta, tb, (long)bad);
  }
}

// Shapes that take the row-panel path (many rows of C) and the inner-panel path (a small C over a
// long inner dimension, partial products added in panel order), every transpose, beta 0 and not;
// against the naive loop, and the same bits on a second call.
TEST_CASE(sgemm_panel_paths_match_naive_and_repeat_bit_for_bit) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 11);
  tsrec::ThreadPool::set_global_threads(3);
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1000 + static_cast<int64_t>(rng() % 600), 33, 150},
                          {70, 45, 2048 + static_cast<int64_t>(rng() % 3000)},
                          {600, 9, 900}};
  for (const Shape& sh : shapes) {
    const int64_t m = sh.m, n = sh.n, k = sh.k;
    const bool inner_shape = m < 512;  // the second shape: a small C over a long inner dimension
    CHECK_MSG(tsrec::GemmPanelRows(m, n, k) > 0 || tsrec::InnerPanelRows(m, n, k) > 0 || (inner_shape && !kInnerPanels),
              "shape %ld x %ld x %ld takes no panel path", (long)m, (long)n, (long)k);
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      std::vector<float> a(m * k), b(k * n), c0(m * n);
      for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
      for (auto& v : b) v = std::uniform_real_distribution<float>(-1, 1)(rng);
      for (auto& v : c0) v = std::uniform_real_distribution<float>(-1, 1)(rng);
      const float alpha = 0.9f, beta = t == 3 ? 0.25f : 0.0f;
      std::vector<float> r(c0);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < k; ++p)
            acc += double(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
          r[i * n + j] = static_cast<float>(alpha * acc + beta * r[i * n + j]);
        }
      std::vector<float> c(c0), c2(c0);
      tsrec::Sgemm(ta, tb, m, n, k, alpha, a.data(), ta ? m : k, b.data(), tb ? k : n, beta, c.data(), n);
      tsrec::Sgemm(ta, tb, m, n, k, alpha, a.data(), ta ? m : k, b.data(), tb ? k : n, beta, c2.data(), n);
      const int64_t bad = tsrec_test::first_mismatch(c.data(), r.data(), m * n, 1e-3f, 1e-3f);
      CHECK_MSG(bad < 0, "m=%ld n=%ld k=%ld ta=%d tb=%d at %ld", (long)m, (long)n, (long)k, ta, tb, (long)bad);
      CHECK(c == c2);
    }
  }
  tsrec::ThreadPool::set_global_threads(0);
}

// A panelled GEMM's bits follow from its shape: 1, 2 and 5 pool threads (panels one after the
// other or side by side, OpenBLAS left at its own thread count) give the same C. Padded leading
// dimensions and beta != 0 on the row path, checked against the naive loop as well.
TEST_CASE(sgemm_bits_do_not_depend_on_the_thread_count) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 13);
  struct Case {
    bool ta, tb;
    int64_t m, n, k;
    float beta;
  };
  const Case cases[] = {
      {true, false, 100 + static_cast<int64_t>(rng() % 60), 64, 3000 + static_cast<int64_t>(rng() % 2000),
       0.0f},  // xᵀ·dz: inner panels
      {true, true, 300, 40, 2048 + static_cast<int64_t>(rng() % 100), 0.5f},
      {false, false, 1500 + static_cast<int64_t>(rng() % 500), 40, 100, 0.5f},  // row panels
      {false, true, 1200, 24, 200, 0.0f},
  };
  for (const Case& cs : cases) {
    const int64_t m = cs.m, n = cs.n, k = cs.k;
    CHECK(tsrec::InnerPanelRows(m, n, k) > 0 || (!cs.ta && m >= 512) || (cs.ta && !kInnerPanels));
    // Padded rows: lda, ldb, ldc larger than the matrix widths.
    const int64_t lda = (cs.ta ? m : k) + 3, ldb = (cs.tb ? k : n) + 5, ldc = n + 7;
    std::vector<float> a((cs.ta ? k : m) * lda), b((cs.tb ? n : k) * ldb), c0(m * ldc);
    for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    for (auto& v : b) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    for (auto& v : c0) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    std::vector<float> ref;
    for (int threads : {1, 2, 5}) {
      tsrec::ThreadPool::set_global_threads(threads);
      std::vector<float> c(c0);
      tsrec::Sgemm(cs.ta, cs.tb, m, n, k, 0.8f, a.data(), lda, b.data(), ldb, cs.beta, c.data(), ldc);
      if (threads == 1) {
        ref = c;
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double acc = 0, mag = 0;
            for (int64_t p = 0; p < k; ++p) {
              const double t =
                  double(cs.ta ? a[p * lda + i] : a[i * lda + p]) * (cs.tb ? b[j * ldb + p] : b[p * ldb + j]);
              acc += t, mag += std::fabs(t);
            }
            const double e = 0.8 * acc + cs.beta * c0[i * ldc + j];
            CHECK_MSG(std::fabs(c[i * ldc + j] - e) <= 1e-6 * (1 + mag), "ta=%d tb=%d m=%ld n=%ld k=%ld at %ld,%ld",
                      cs.ta, cs.tb, (long)m, (long)n, (long)k, (long)i, (long)j);
          }
          for (int64_t j = n; j < ldc; ++j) CHECK(c[i * ldc + j] == c0[i * ldc + j]);  // padding untouched
        }
      } else {
        CHECK_MSG(c == ref, "ta=%d tb=%d m=%ld n=%ld k=%ld: %d threads change the bits", cs.ta, cs.tb, (long)m, (long)n,
                  (long)k, threads);
      }
    }
  }
  tsrec::ThreadPool::set_global_threads(0);
}

TEST_CASE(batch_matmul_panels_apply_the_epilogue_to_every_row) {
  // [batch*m, k]·[k, n] with bias + ReLU takes the row-panel path with a per-panel epilogue.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 12);
  tsrec::ThreadPool::set_global_threads(2);
  const int64_t batch = 3, m = 400 + static_cast<int64_t>(rng() % 200), n = 40, k = 200;
  std::vector<float> a(batch * m * k), b(k * n), bias(n), out(batch * m * n);
  for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  for (auto& v : b) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  for (auto& v : bias) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  CHECK(tsrec::GemmPanelRows(batch * m, n, k) > 0);
  tsrec::MatMulEpilogue ep;
  ep.bias = bias.data();
  ep.bias_len = n;
  ep.activation = tsrec::Activation::kRelu;
  tsrec::BatchMatMul(a.data(), b.data(), out.data(), batch, 1, m, n, k, false, false, &ep);
  for (int64_t i = 0; i < batch * m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias[j];
      for (int64_t p = 0; p < k; ++p) acc += double(a[i * k + p]) * b[p * n + j];
      const float e = static_cast<float>(acc > 0 ? acc : 0);
      CHECK_MSG(std::fabs(out[i * n + j] - e) <= 1e-3f * (1 + std::fabs(e)), "row %ld col %ld", (long)i, (long)j);
    }
  tsrec::ThreadPool::set_global_threads(0);
}

int main() {
  std::printf("blas: %s\n", tsrec::BlasDescription());
  return tsrec_test::run_all("gemm");
}
