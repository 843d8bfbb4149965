// The fused kernels (fused_kernels.h) against naive loops and numeric differentiation.
#include <cmath>
#include <cstring>
#include <limits>

#include "test_util.h"
#include "tsrec/fused_kernels.h"
#include "tsrec/gemm.h"
#include "tsrec/thread_pool.h"

namespace {
std::mt19937_64& rng() {
  static std::mt19937_64 r(tsrec_test::seed_from_env());
  return r;
}
uint64_t R() { return rng()(); }
std::vector<float> rnd(int64_t n, float lo = -2, float hi = 2) {
  std::vector<float> v(n);
  for (auto& x : v) x = std::uniform_real_distribution<float>(lo, hi)(rng());
  return v;
}

// Σ_d FM(x)[b, d]·c[b, d] in double: a scalar whose gradient is FmInteractionBackward(x, c).
double FmDot(const std::vector<double>& x, const std::vector<float>& c, int64_t B, int64_t N, int64_t D) {
  double total = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) {
      double s = 0, sq = 0;
      for (int64_t n = 0; n < N; ++n) {
        const double v = x[(b * N + n) * D + d];
        s += v;
        sq += v * v;
      }
      total += c[b * D + d] * 0.5 * (s * s - sq);
    }
  return total;
}
}  // namespace

TEST_CASE(fm_forward_matches_naive) {
  // D in the specialised widths and not; B large enough to use the thread pool.
  const int64_t dims[] = {1, 3, 8, 16, 32, 64, 17};
  for (int64_t D : dims) {
    const int64_t B = 1 + R() % 700, N = 1 + R() % 30;
    auto x = rnd(B * N * D);
    std::vector<float> out(B * D);
    tsrec::FmInteractionForward(x.data(), B, N, D, out.data());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d) {
        double s = 0, sq = 0;
        for (int64_t n = 0; n < N; ++n) {
          const double v = x[(b * N + n) * D + d];
          s += v;
          sq += v * v;
        }
        CHECK_MSG(out[b * D + d] == static_cast<float>(0.5 * (s * s - sq)), "D=%lld b=%lld d=%lld", (long long)D,
                  (long long)b, (long long)d);
      }
  }
}

TEST_CASE(fm_backward_matches_numeric_gradient) {
  const int64_t dims[] = {4, 16, 19};
  for (int64_t D : dims) {
    const int64_t B = 3, N = 1 + R() % 9;
    auto x = rnd(B * N * D);
    auto c = rnd(B * D);
    std::vector<float> dx(B * N * D);
    tsrec::FmInteractionBackward(x.data(), c.data(), B, N, D, dx.data());
    std::vector<double> xd(x.begin(), x.end());
    for (int64_t i = 0; i < B * N * D; ++i) {
      const double h = 1e-4, v = xd[i];
      xd[i] = v + h;
      const double up = FmDot(xd, c, B, N, D);
      xd[i] = v - h;
      const double down = FmDot(xd, c, B, N, D);
      xd[i] = v;
      const double num = (up - down) / (2 * h);
      CHECK_MSG(std::fabs(dx[i] - num) <= 1e-4 * (1 + std::fabs(num)), "D=%lld i=%lld %g vs %g", (long long)D,
                (long long)i, dx[i], num);
    }
  }
  // Large batch (thread pool) against the plain formula.
  const int64_t B = 4096, N = 26, D = 16;
  auto x = rnd(B * N * D);
  auto c = rnd(B * D);
  std::vector<float> dx(B * N * D);
  tsrec::FmInteractionBackward(x.data(), c.data(), B, N, D, dx.data());
  for (int64_t b = 0; b < B; b += 97)
    for (int64_t d = 0; d < D; ++d) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) s += x[(b * N + n) * D + d];
      for (int64_t n = 0; n < N; ++n) {
        const int64_t i = (b * N + n) * D + d;
        CHECK(dx[i] == static_cast<float>(static_cast<double>(c[b * D + d]) * (s - x[i])));
      }
    }
}

TEST_CASE(sigmoid_bce_matches_formula_and_numeric_gradient) {
  const int64_t n = 257;
  auto logits = rnd(n, -6, 6);
  auto labels = rnd(n, 0, 1);
  auto weights = rnd(n, 0.1f, 2);
  for (double s : {0.0, 0.1}) {
    for (bool weighted : {false, true}) {
      std::vector<float> d(n);
      int64_t bad = 0;
      const float* w = weighted ? weights.data() : nullptr;
      const double loss = tsrec::SigmoidBceWithLogits(logits.data(), labels.data(), w, n, s, d.data(), &bad);
      CHECK(bad == -1);
      auto ref = [&](const std::vector<double>& x) {
        double l = 0, W = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double y = labels[i] * (1 - s) + s / 2, p = 1 / (1 + std::exp(-x[i])), wi = w ? w[i] : 1;
          l += wi * -(y * std::log(p) + (1 - y) * std::log(1 - p));
          W += wi;
        }
        return l / W;
      };
      std::vector<double> x(logits.begin(), logits.end());
      CHECK_MSG(std::fabs(loss - ref(x)) < 1e-9, "%g vs %g", loss, ref(x));
      for (int64_t i = 0; i < n; i += 7) {
        const double h = 1e-5, v = x[i];
        x[i] = v + h;
        const double up = ref(x);
        x[i] = v - h;
        const double down = ref(x);
        x[i] = v;
        CHECK_MSG(std::fabs(d[i] - (up - down) / (2 * h)) < 1e-6, "i=%lld", (long long)i);
      }
    }
  }
}

TEST_CASE(sigmoid_bce_stable_to_1e4_and_reports_non_finite) {
  const float logits[6] = {1e4f, -1e4f, 1e4f, -1e4f, 80, -80};
  const float labels[6] = {0, 1, 1, 0, 0, 1};
  float d[6];
  int64_t bad = 0;
  const double loss = tsrec::SigmoidBceWithLogits(logits, labels, nullptr, 6, 0.0, d, &bad);
  CHECK(bad == -1);
  CHECK(std::fabs(loss - (1e4 + 1e4 + 80 + 80) / 6) < 1e-9);
  const double want[6] = {1.0 / 6, -1.0 / 6, 0, 0, 1.0 / 6, -1.0 / 6};
  for (int i = 0; i < 6; ++i) CHECK_MSG(std::fabs(d[i] - want[i]) < 1e-7, "i=%d %g", i, d[i]);
  // Zero total weight: zero loss and gradients.
  const float zero_w[2] = {0, 0};
  CHECK(tsrec::SigmoidBceWithLogits(logits, labels, zero_w, 2, 0.0, d, &bad) == 0.0 && d[0] == 0 && d[1] == 0);
  const float with_nan[3] = {0.5f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
  CHECK(std::isnan(tsrec::SigmoidBceWithLogits(with_nan, labels, nullptr, 3, 0.0, d, &bad)) && bad == 1);
}

TEST_CASE(adam_matches_float32_formula_in_place_and_not) {
  const int64_t n = 100000 + R() % 1000;  // large enough for the thread pool
  auto w = rnd(n), m = rnd(n, -0.1f, 0.1f), v = rnd(n, 0, 0.1f), g = rnd(n);
  tsrec::AdamConstants c{0.9f,
                         static_cast<float>(1 - 0.9),
                         0.999f,
                         static_cast<float>(1 - 0.999),
                         1 - 0.9f * 0.9f,
                         1 - 0.999f * 0.999f,
                         -1e-3f,
                         1e-7f};
  std::vector<float> w2(n), m2(n), v2(n);
  tsrec::AdamUpdate(w.data(), m.data(), v.data(), g.data(), n, c, w2.data(), m2.data(), v2.data());
  for (int64_t i = 0; i < n; ++i) {
    volatile float m1 = m[i] * c.beta1;
    volatile float m1b = g[i] * c.one_minus_beta1;
    const float mm = m1 + m1b;
    volatile float g2 = g[i] * g[i];
    volatile float v1 = v[i] * c.beta2;
    volatile float v1b = g2 * c.one_minus_beta2;
    const float vv = v1 + v1b;
    volatile float den = std::sqrt(vv / c.one_minus_acc_beta2) + c.epsilon;
    volatile float q = (mm / c.one_minus_acc_beta1) / den;
    volatile float step = q * c.neg_lr;
    const float want = step + w[i];
    CHECK_MSG(m2[i] == mm && v2[i] == vv && w2[i] == want, "i=%lld", (long long)i);
  }
  tsrec::AdamUpdate(w.data(), m.data(), v.data(), g.data(), n, c, w.data(), m.data(), v.data());
  CHECK(w == w2 && m == m2 && v == v2);
}

TEST_CASE(relu_grad_and_column_sum) {
  const int64_t rows = 4096, cols = 256;
  auto y = rnd(rows * cols), dy = rnd(rows * cols);
  y[5] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> dx(rows * cols);
  tsrec::ReluGrad(dy.data(), y.data(), rows * cols, dx.data());
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (i == 5) {
      CHECK(std::isnan(dx[i]));
    } else {
      CHECK(dx[i] == (y[i] > 0 ? dy[i] : dy[i] * 0.0f));
    }
  }
  std::vector<float> out(cols);
  tsrec::ColumnSum(dy.data(), rows, cols, out.data());
  for (int64_t j = 0; j < cols; ++j) {
    double s = 0;
    for (int64_t r = 0; r < rows; ++r) s += dy[r * cols + j];
    CHECK(out[j] == static_cast<float>(s));
  }
}

TEST_CASE(dense_backward_matches_naive) {
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t M = 1 + R() % (trial < 3 ? 300 : 3000), K = 1 + R() % 40, N = 1 + R() % 40;
    const bool relu = trial % 2 == 0, bias = trial % 3 != 2;
    auto x = rnd(M * K), w = rnd(K * N), y = rnd(M * N), dy = rnd(M * N);
    std::vector<float> dx(M * K), dw(K * N), db(N);
    tsrec::DenseBackward(x.data(), w.data(), y.data(), dy.data(), M, K, N, relu, dx.data(), dw.data(),
                         bias ? db.data() : nullptr);
    std::vector<float> dz(M * N);
    for (int64_t i = 0; i < M * N; ++i) dz[i] = relu ? (y[i] > 0 ? dy[i] : 0.0f) : dy[i];
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        double s = 0, mag = 0;  // float sums regroup: bound by the terms' magnitudes (s may cancel)
        for (int64_t j = 0; j < N; ++j)
          s += double(dz[i * N + j]) * w[k * N + j], mag += std::fabs(double(dz[i * N + j]) * w[k * N + j]);
        CHECK_MSG(std::fabs(dx[i * K + k] - s) <= 1e-6 * (1 + mag), "dx trial %d", trial);
      }
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0, mag = 0;
        for (int64_t i = 0; i < M; ++i)
          s += double(x[i * K + k]) * dz[i * N + j], mag += std::fabs(double(x[i * K + k]) * dz[i * N + j]);
        CHECK_MSG(std::fabs(dw[k * N + j] - s) <= 1e-6 * (1 + mag), "dw trial %d", trial);
      }
    if (bias)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t i = 0; i < M; ++i) s += dz[i * N + j];
        CHECK_MSG(std::fabs(db[j] - s) <= 1e-6 * (1 + std::fabs(s)), "db trial %d", trial);
      }
  }
}

TEST_CASE(dense_blocks_match_the_concatenated_input) {
  // A layer over column blocks equals the same layer over their concatenation (within float
  // regrouping of the sums); empty blocks and a single block included.
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t M = 1 + R() % 200, N = 1 + R() % 40;
    const int nb = 1 + static_cast<int>(R() % 4);
    std::vector<int64_t> ks(nb);
    int64_t K = 0;
    for (auto& k : ks) K += (k = (trial == 3 ? 0 : static_cast<int64_t>(R() % 30)));
    const bool relu = trial % 2 == 0, bias = trial % 3 != 2;
    std::vector<std::vector<float>> xs(nb);
    for (int i = 0; i < nb; ++i) xs[i] = rnd(M * ks[i]);
    std::vector<float> x(M * K);  // the concatenation
    for (int64_t r = 0; r < M; ++r) {
      int64_t c = 0;
      for (int i = 0; i < nb; ++i)
        for (int64_t j = 0; j < ks[i]; ++j) x[r * K + c++] = xs[i][r * ks[i] + j];
    }
    auto w = rnd(K * N), b = rnd(N), dy = rnd(M * N);
    std::vector<tsrec::DenseBlock> blocks(nb);
    for (int i = 0; i < nb; ++i) blocks[i] = {xs[i].data(), ks[i]};
    std::vector<float> y(M * N, 7.0f), y_ref(M * N);
    tsrec::DenseBlocksForward(blocks.data(), nb, w.data(), bias ? b.data() : nullptr, relu, M, N, y.data());
    for (int64_t r = 0; r < M; ++r)
      for (int64_t j = 0; j < N; ++j) {
        double s = bias ? b[j] : 0.0;
        for (int64_t k = 0; k < K; ++k) s += double(x[r * K + k]) * w[k * N + j];
        if (relu && s < 0) s = 0;
        CHECK_MSG(std::fabs(y[r * N + j] - s) <= 1e-4 * (1 + std::fabs(s)), "y trial %d", trial);
        y_ref[r * N + j] = y[r * N + j];
      }
    std::vector<std::vector<float>> dxs(nb);
    std::vector<float*> dx_ptrs(nb);
    for (int i = 0; i < nb; ++i) dx_ptrs[i] = (dxs[i] = std::vector<float>(M * ks[i], 9.0f)).data();
    std::vector<float> dw(K * N, 9.0f), db(N), dx1(M * K), dw1(K * N), db1(N);
    tsrec::DenseBlocksBackward(blocks.data(), nb, w.data(), y_ref.data(), dy.data(), M, N, relu, dx_ptrs.data(),
                               dw.data(), bias ? db.data() : nullptr);
    tsrec::DenseBackward(x.data(), w.data(), y_ref.data(), dy.data(), M, K, N, relu, dx1.data(), dw1.data(),
                         bias ? db1.data() : nullptr);
    // dx blocks are column ranges of the one-block dx; dw row blocks are computed alone.
    for (int64_t r = 0; r < M; ++r) {
      int64_t c = 0;
      for (int i = 0; i < nb; ++i)
        for (int64_t j = 0; j < ks[i]; ++j, ++c) {
          const float a = dxs[i][r * ks[i] + j], e = dx1[r * K + c];
          CHECK_MSG(std::fabs(a - e) <= 1e-5f * (1 + std::fabs(e)), "dx trial %d", trial);
        }
    }
    // dw sums M products: both sides regroup them differently (per block vs whole), so the bound
    // scales with the sum of their magnitudes, not with a result that may cancel to near zero.
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) {
        double mag = 0;
        for (int64_t r = 0; r < M; ++r) mag += std::fabs(double(x[r * K + k]) * dy[r * N + j]);
        CHECK_MSG(std::fabs(dw[k * N + j] - dw1[k * N + j]) <= 1e-6 * (1 + mag), "dw trial %d", trial);
      }
    if (bias)
      for (int64_t j = 0; j < N; ++j) CHECK(db[j] == db1[j]);
  }
}

TEST_CASE(dense_blocks_forward_row_panels_match_naive_and_one_thread) {
  // M large enough for row panels: each block's GEMM accumulates into the panel (beta 1 after
  // the first block), then bias + ReLU per panel. Against the naive sum, and the same bits with
  // one thread (the same panels one after the other).
  const int64_t M = 1500 + R() % 700, N = 48;
  const int64_t ks[3] = {13, 40 + static_cast<int64_t>(R() % 20), 7};
  const int64_t K = ks[0] + ks[1] + ks[2];
  std::vector<std::vector<float>> xs(3);
  std::vector<tsrec::DenseBlock> blocks(3);
  for (int i = 0; i < 3; ++i) blocks[i] = {(xs[i] = rnd(M * ks[i])).data(), ks[i]};
  auto w = rnd(K * N), b = rnd(N);
  tsrec::ThreadPool::set_global_threads(2);
  CHECK(tsrec::GemmPanelRows(M, N, K) > 0);
  std::vector<float> y(M * N, 7.0f), y1(M * N, 5.0f);
  tsrec::DenseBlocksForward(blocks.data(), 3, w.data(), b.data(), true, M, N, y.data());
  tsrec::ThreadPool::set_global_threads(1);
  tsrec::DenseBlocksForward(blocks.data(), 3, w.data(), b.data(), true, M, N, y1.data());
  tsrec::ThreadPool::set_global_threads(0);
  CHECK(y == y1);
  for (int64_t r = 0; r < M; ++r)
    for (int64_t j = 0; j < N; ++j) {
      double s = b[j], mag = std::fabs(b[j]);
      int64_t kb = 0;
      for (int i = 0; i < 3; ++i) {
        for (int64_t k = 0; k < ks[i]; ++k) {
          const double t = double(xs[i][r * ks[i] + k]) * w[(kb + k) * N + j];
          s += t, mag += std::fabs(t);
        }
        kb += ks[i];
      }
      const double e = s > 0 ? s : 0;
      CHECK_MSG(std::fabs(y[r * N + j] - e) <= 1e-6 * (1 + mag), "row %ld col %ld", (long)r, (long)j);
    }
}

TEST_CASE(dense_blocks_backward_skips_null_input_gradients) {
  // A null dxs[i] (an input-data block) leaves every other output bit-identical.
  const int64_t M = 1 + R() % 300, N = 1 + R() % 40;
  const std::vector<int64_t> ks = {1 + static_cast<int64_t>(R() % 20), 1 + static_cast<int64_t>(R() % 50)};
  const int64_t K = ks[0] + ks[1];
  auto x0 = rnd(M * ks[0]), x1 = rnd(M * ks[1]), w = rnd(K * N), y = rnd(M * N), dy = rnd(M * N);
  const tsrec::DenseBlock blocks[2] = {{x0.data(), ks[0]}, {x1.data(), ks[1]}};
  std::vector<float> dxa(M * ks[0]), dxb(M * ks[1]), dw(K * N), db(N), dxb2(M * ks[1], 5.0f), dw2(K * N), db2(N);
  float* all[2] = {dxa.data(), dxb.data()};
  float* some[2] = {nullptr, dxb2.data()};
  tsrec::DenseBlocksBackward(blocks, 2, w.data(), y.data(), dy.data(), M, N, true, all, dw.data(), db.data());
  tsrec::DenseBlocksBackward(blocks, 2, w.data(), y.data(), dy.data(), M, N, true, some, dw2.data(), db2.data());
  CHECK(dxb == dxb2);
  CHECK(dw == dw2);
  CHECK(db == db2);
  std::vector<float> dxs(M * ks[0]), dws(ks[0] * N), dws2(ks[0] * N);
  tsrec::DenseBackward(x0.data(), w.data(), y.data(), dy.data(), M, ks[0], N, false, dxs.data(), dws.data(), nullptr);
  tsrec::DenseBackward(x0.data(), w.data(), y.data(), dy.data(), M, ks[0], N, false, nullptr, dws2.data(), nullptr);
  CHECK(dws == dws2);
}

TEST_CASE(dense_backward_same_bits_for_any_thread_count) {
  const int64_t M = 4096, K = 24, N = 40;
  auto x = rnd(M * K), w = rnd(K * N), y = rnd(M * N), dy = rnd(M * N);
  std::vector<float> ref_db;  // db is the pool's (dx and dw are BLAS's)
  const int64_t min_work = tsrec::ParallelMinWork();
  tsrec::SetParallelMinWork(1 << 10);  // these shapes must still split across the pool
  for (int threads : {1, 2, 5}) {
    tsrec::ThreadPool::set_global_threads(threads);
    std::vector<float> dx(M * K), dw(K * N), db(N);
    tsrec::DenseBackward(x.data(), w.data(), y.data(), dy.data(), M, K, N, true, dx.data(), dw.data(), db.data());
    if (threads == 1) {
      ref_db = db;
      continue;
    }
    CHECK(std::memcmp(db.data(), ref_db.data(), sizeof(float) * N) == 0);
  }
  tsrec::SetParallelMinWork(min_work);
  tsrec::ThreadPool::set_global_threads(0);
}

int main() { return tsrec_test::run_all("fused_kernels"); }
