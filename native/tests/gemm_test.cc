// Sgemm (OpenBLAS or the built-in fallback) against a naive triple loop, all transposes.
#include "test_util.h"
#include "tsrec/gemm.h"
#include "tsrec/matmul_kernels.h"
#include "tsrec/thread_pool.h"

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
// against the naive loop, and the same bits on a second call and with the pool's other schedule.
TEST_CASE(sgemm_panel_paths_match_naive_and_repeat_bit_for_bit) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 11);
  tsrec::ThreadPool::set_global_threads(3);
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1000 + static_cast<int64_t>(rng() % 600), 33, 150}, {70, 45, 2048 + static_cast<int64_t>(rng() % 3000)}, {600, 9, 900}};
  for (const Shape& sh : shapes) {
    const int64_t m = sh.m, n = sh.n, k = sh.k;
    CHECK_MSG(tsrec::GemmPanelRows(m, n, k) > 0 || tsrec::GemmPanelRows(k, n, m) > 0, "shape %ld x %ld x %ld takes no panel path", (long)m, (long)n, (long)k);
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
          for (int64_t p = 0; p < k; ++p) acc += double(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
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
