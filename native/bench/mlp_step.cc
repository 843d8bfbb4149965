// A DeepFM dense-side train step in plain C++ + Sgemm (OpenBLAS): the yardstick for the `tsrec`
// tfjs backend (packages/native/src/bench/dense_bench.ts runs both and prints the ratio).
// Batch B, 26 fields x dim 16 pooled embeddings + 13 dense -> concat 429 -> MLP 256-128-64-1
// (ReLU), FM second-order term over the 26 embeddings, sigmoid BCE (mean), Adam on the MLP, and
// dL/d(embeddings) computed as the TBE backward needs it. Prints "median_ms <x>" (wall) and
// "median_cpu_ms <x>" (process CPU time per step: with one BLAS thread, a figure that other
// processes on a shared machine disturb far less than wall time).
// Usage: mlp_step [iters=20] [batch=4096]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "tsrec/gemm.h"

namespace {

constexpr int kFields = 26, kDim = 16, kDense = 13, kEmb = kFields * kDim, kIn = kEmb + kDense;
const int kWidths[5] = {kIn, 256, 128, 64, 1};

struct Adam {
  std::vector<float> m, v;
  explicit Adam(size_t n) : m(n, 0.f), v(n, 0.f) {}
  void step(float* w, const float* g, size_t n, int t, float lr = 1e-3f, float b1 = 0.9f, float b2 = 0.999f,
            float eps = 1e-7f) {
    const float c1 = 1.f - std::pow(b1, t), c2 = 1.f - std::pow(b2, t);
    for (size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 20;
  const int B = argc > 2 ? std::atoi(argv[2]) : 4096;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> emb(size_t(B) * kEmb), dense(size_t(B) * kDense), label(B);
  for (auto& x : emb) x = 0.1f * nd(rng);
  for (auto& x : dense) x = nd(rng);
  for (auto& x : label) x = (rng() & 1) ? 1.f : 0.f;
  std::vector<std::vector<float>> W(4), bias(4), dW(4), db(4), act(5), dact(5);
  std::vector<Adam> optW, optB;
  for (int l = 0; l < 4; ++l) {
    const int fi = kWidths[l], fo = kWidths[l + 1];
    W[l].resize(size_t(fi) * fo);
    const float s = std::sqrt(2.f / (fi + fo));
    for (auto& x : W[l]) x = s * nd(rng);
    bias[l].assign(fo, 0.f);
    dW[l].resize(W[l].size());
    db[l].resize(fo);
    optW.emplace_back(W[l].size());
    optB.emplace_back(fo);
  }
  for (int l = 0; l < 5; ++l) {
    act[l].resize(size_t(B) * kWidths[l]);
    dact[l].resize(size_t(B) * kWidths[l]);
  }
  std::vector<float> sumv(size_t(B) * kDim), logit(B), demb(size_t(B) * kEmb);
  std::vector<double> times, cpu_times, gemm_times;
  double gemm_ms = 0;
  auto timed_gemm = [&](bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc) {
    auto g0 = std::chrono::steady_clock::now();
    tsrec::Sgemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc);
    gemm_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - g0).count();
  };
  auto cpu_now = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
  };
  for (int it = 0; it < iters + 3; ++it) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    gemm_ms = 0;
    // Forward: concat, MLP with bias + ReLU (the last layer linear).
    for (int b = 0; b < B; ++b) {
      std::copy(&emb[size_t(b) * kEmb], &emb[size_t(b + 1) * kEmb], &act[0][size_t(b) * kIn]);
      std::copy(&dense[size_t(b) * kDense], &dense[size_t(b + 1) * kDense], &act[0][size_t(b) * kIn + kEmb]);
    }
    for (int l = 0; l < 4; ++l) {
      const int fi = kWidths[l], fo = kWidths[l + 1];
      timed_gemm(false, false, B, fo, fi, act[l].data(), fi, W[l].data(), fo, act[l + 1].data(), fo);
      float* y = act[l + 1].data();
      for (int b = 0; b < B; ++b)
        for (int j = 0; j < fo; ++j) {
          float v = y[size_t(b) * fo + j] + bias[l][j];
          y[size_t(b) * fo + j] = (l < 3 && v < 0) ? 0.f : v;
        }
    }
    // FM: 0.5 * sum_d((sum_f e)^2 - sum_f e^2); then BCE with logits (mean) and d_logits.
    double loss = 0;
    for (int b = 0; b < B; ++b) {
      const float* e = &emb[size_t(b) * kEmb];
      float* s = &sumv[size_t(b) * kDim];
      float fm = 0;
      for (int d = 0; d < kDim; ++d) {
        float sd = 0, sq = 0;
        for (int f = 0; f < kFields; ++f) {
          sd += e[f * kDim + d];
          sq += e[f * kDim + d] * e[f * kDim + d];
        }
        s[d] = sd;
        fm += sd * sd - sq;
      }
      const float z = act[4][b] + 0.5f * fm;
      logit[b] = z;
      loss += std::max(z, 0.f) - z * label[b] + std::log1p(std::exp(-std::fabs(z)));
      dact[4][b] = (1.f / (1.f + std::exp(-z)) - label[b]) / B;
    }
    // Backward through the MLP: dW = x^T dy, db = colsum dy, dx = dy W^T, ReLU mask.
    for (int l = 3; l >= 0; --l) {
      const int fi = kWidths[l], fo = kWidths[l + 1];
      timed_gemm(true, false, fi, fo, B, act[l].data(), fi, dact[l + 1].data(), fo, dW[l].data(), fo);
      std::fill(db[l].begin(), db[l].end(), 0.f);
      for (int b = 0; b < B; ++b)
        for (int j = 0; j < fo; ++j) db[l][j] += dact[l + 1][size_t(b) * fo + j];
      timed_gemm(false, true, B, fi, fo, dact[l + 1].data(), fo, W[l].data(), fo, dact[l].data(), fi);
      if (l > 0) {
        const float* a = act[l].data();
        float* d = dact[l].data();
        for (size_t i = 0; i < size_t(B) * fi; ++i) d[i] = a[i] > 0 ? d[i] : 0.f;
      }
    }
    // dL/demb: the MLP's share plus the FM's (dfm/de = s - e).
    for (int b = 0; b < B; ++b) {
      const float g = dact[4][b];
      const float* e = &emb[size_t(b) * kEmb];
      const float* s = &sumv[size_t(b) * kDim];
      for (int f = 0; f < kFields; ++f)
        for (int d = 0; d < kDim; ++d)
          demb[size_t(b) * kEmb + f * kDim + d] =
              dact[0][size_t(b) * kIn + f * kDim + d] + g * (s[d] - e[f * kDim + d]);
    }
    for (int l = 0; l < 4; ++l) {
      optW[l].step(W[l].data(), dW[l].data(), W[l].size(), it + 1);
      optB[l].step(bias[l].data(), db[l].data(), db[l].size(), it + 1);
    }
    auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu_now();
    if (it >= 3) {
      times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      cpu_times.push_back(c1 - c0);
      gemm_times.push_back(gemm_ms);
    }
    if (it == iters + 2) std::printf("loss %.6f\n", loss / B);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  std::printf("blas %s\nmedian_ms %.3f\nmedian_cpu_ms %.3f\nmedian_gemm_ms %.3f\n", tsrec::BlasDescription(),
              median(times), median(cpu_times), median(gemm_times));
  return 0;
}
