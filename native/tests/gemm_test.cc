// Sgemm (OpenBLAS or the built-in fallback) against a naive triple loop, all transposes.
#include "test_util.h"
#include "tsrec/gemm.h"

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

int main() {
  std::printf("blas: %s\n", tsrec::BlasDescription());
  return tsrec_test::run_all("gemm");
}
