// The tfjs backend's native kernels (matmul_kernels, elementwise_kernels, reduction_kernels,
// copy_kernels) against naive loops on random shapes.
#include <cstring>

#include "test_util.h"
#include "tsrec/copy_kernels.h"
#include "tsrec/elementwise_kernels.h"
#include "tsrec/matmul_kernels.h"
#include "tsrec/reduction_kernels.h"

namespace {
std::mt19937_64& rng() {
  static std::mt19937_64 r(tsrec_test::seed_from_env());
  return r;
}
uint64_t R() { return rng()(); }
std::vector<float> rnd(int64_t n) {
  std::vector<float> v(n);
  for (auto& x : v) x = std::uniform_real_distribution<float>(-2, 2)(rng());
  return v;
}
}  // namespace

TEST_CASE(batch_matmul_broadcast_transposes_epilogue) {
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t m = 1 + R() % 9, n = 1 + R() % 9, k = 1 + R() % 9, batch = 1 + R() % 3;
    const bool ta = R() % 2, tb = R() % 2;
    const int mode = trial % 3;
    const int64_t ba = mode == 2 ? 1 : batch, bb = mode == 1 ? 1 : batch;
    auto a = rnd(ba * m * k), b = rnd(bb * k * n), bias = rnd(n), prelu = rnd(n);
    const auto act = static_cast<tsrec::Activation>(trial % 7);
    tsrec::MatMulEpilogue ep;
    ep.bias = bias.data();
    ep.bias_len = n;
    ep.activation = act;
    ep.leaky_alpha = 0.3f;
    ep.prelu_alpha = prelu.data();
    ep.prelu_len = n;
    std::vector<float> out(batch * m * n), ref(batch * m * n);
    tsrec::BatchMatMul(a.data(), b.data(), out.data(), ba, bb, m, n, k, ta, tb, &ep);
    for (int64_t bi = 0; bi < batch; ++bi) {
      const float* A = a.data() + (bi % ba) * m * k;
      const float* Bm = b.data() + (bi % bb) * k * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p)
            s += double(ta ? A[p * m + i] : A[i * k + p]) * (tb ? Bm[j * k + p] : Bm[p * n + j]);
          float y = float(s) + bias[j];
          switch (act) {
            case tsrec::Activation::kRelu:
              y = y < 0 ? 0 : y;
              break;
            case tsrec::Activation::kRelu6:
              y = y < 0 ? 0 : (y > 6 ? 6 : y);
              break;
            case tsrec::Activation::kSigmoid:
              y = 1.0f / (1.0f + std::exp(-y));
              break;
            case tsrec::Activation::kElu:
              y = y >= 0 ? y : std::exp(y) - 1;
              break;
            case tsrec::Activation::kLeakyRelu:
              y = y < 0 ? 0.3f * y : y;
              break;
            case tsrec::Activation::kPrelu:
              y = y < 0 ? prelu[j] * y : y;
              break;
            default:
              break;
          }
          ref[(bi * m + i) * n + j] = y;
        }
    }
    const int64_t bad = tsrec_test::first_mismatch(out.data(), ref.data(), batch * m * n, 1e-4f, 1e-4f);
    CHECK_MSG(bad < 0, "trial %d m=%ld n=%ld k=%ld ba=%ld bb=%ld ta=%d tb=%d at %ld", trial, (long)m, (long)n, (long)k,
              (long)ba, (long)bb, ta, tb, (long)bad);
  }
}

TEST_CASE(binary_broadcast_matches_naive) {
  for (int trial = 0; trial < 80; ++trial) {
    const int rank = 1 + R() % 4;
    int64_t os[4], as[4], bs[4];
    int64_t total = 1, na = 1, nb = 1;
    for (int d = 0; d < rank; ++d) {
      os[d] = 1 + R() % 4;
      as[d] = R() % 3 == 0 ? 1 : os[d];
      bs[d] = R() % 3 == 0 ? 1 : os[d];
      total *= os[d];
      na *= as[d];
      nb *= bs[d];
    }
    auto a = rnd(na), b = rnd(nb);
    const auto op = static_cast<tsrec::BinaryOp>(trial % 8);
    std::vector<float> out(total), ref(total);
    CHECK(tsrec::BinaryKernel(op, a.data(), as, b.data(), bs, out.data(), os, rank));
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
      for (int d = rank - 1; d >= 0; --d) {
        const int64_t idx = rem % os[d];
        rem /= os[d];
        ia += (as[d] == 1 ? 0 : idx) * sa;
        ib += (bs[d] == 1 ? 0 : idx) * sb;
        sa *= as[d];
        sb *= bs[d];
      }
      const float x = a[ia], y = b[ib];
      float r = 0;
      switch (op) {
        case tsrec::BinaryOp::kAdd:
          r = x + y;
          break;
        case tsrec::BinaryOp::kSub:
          r = x - y;
          break;
        case tsrec::BinaryOp::kMul:
          r = x * y;
          break;
        case tsrec::BinaryOp::kDiv:
          r = x / y;
          break;
        case tsrec::BinaryOp::kMax:
          r = std::max(x, y);
          break;
        case tsrec::BinaryOp::kMin:
          r = std::min(x, y);
          break;
        case tsrec::BinaryOp::kSquaredDiff:
          r = (x - y) * (x - y);
          break;
        case tsrec::BinaryOp::kPrelu:
          r = x < 0 ? y * x : x;
          break;
      }
      ref[i] = r;
    }
    CHECK_MSG(tsrec_test::first_mismatch(out.data(), ref.data(), total, 1e-6f, 1e-6f) < 0, "trial %d", trial);
  }
  int64_t s3[1] = {3}, s2[1] = {2};
  float x[3] = {0}, y[2] = {0}, o[3];
  CHECK(!tsrec::BinaryKernel(tsrec::BinaryOp::kAdd, x, s3, y, s2, o, s3, 1));
}

TEST_CASE(unary_nan_and_values) {
  float x[4] = {NAN, -1.0f, 0.0f, 2.0f}, y[4];
  tsrec::UnaryKernel(tsrec::UnaryOp::kRelu, x, y, 4, 0);
  CHECK(std::isnan(y[0]) && y[1] == 0 && y[3] == 2);
  tsrec::UnaryKernel(tsrec::UnaryOp::kStep, x, y, 4, 0.25f);
  CHECK(std::isnan(y[0]) && y[1] == 0.25f && y[2] == 0.25f && y[3] == 1);
  std::vector<float> big = rnd(100000), out(100000);
  tsrec::UnaryKernel(tsrec::UnaryOp::kSigmoid, big.data(), out.data(), 100000, 0);
  for (int i = 0; i < 100000; i += 997) CHECK(std::fabs(out[i] - 1.0f / (1.0f + std::exp(-big[i]))) < 1e-6f);
}

TEST_CASE(sum_reduce_matches_naive) {
  const int64_t cases[][3] = {{1, 100000, 1}, {7, 13, 1}, {1, 4096, 256}, {300, 26, 16},
                              {5, 3, 70000},  {1, 1, 9},  {70000, 1, 1}};
  for (auto& c : cases) {
    const int64_t o = c[0], r = c[1], in = c[2];
    auto x = rnd(o * r * in);
    std::vector<float> out(o * in), ref(o * in);
    tsrec::SumReduce(x.data(), out.data(), o, r, in);
    for (int64_t a = 0; a < o; ++a)
      for (int64_t i = 0; i < in; ++i) {
        double s = 0;
        for (int64_t p = 0; p < r; ++p) s += x[(a * r + p) * in + i];
        ref[a * in + i] = float(s);
      }
    CHECK_MSG(tsrec_test::first_mismatch(out.data(), ref.data(), o * in, 1e-3f, 1e-5f) < 0, "o=%ld r=%ld in=%ld",
              (long)o, (long)r, (long)in);
  }
}

TEST_CASE(slice_and_concat_match_naive) {
  const int64_t shape[3] = {5, 7, 300}, begin[3] = {1, 2, 3}, size[3] = {3, 4, 250};
  auto x = rnd(5 * 7 * 300);
  std::vector<float> out(3 * 4 * 250);
  tsrec::SliceCopy(x.data(), shape, begin, size, 3, out.data());
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t k = 0; k < 250; ++k) CHECK(out[(i * 4 + j) * 250 + k] == x[((i + 1) * 7 + j + 2) * 300 + k + 3]);
  const int64_t outer = 4096, inner[2] = {416, 13};
  auto a = rnd(outer * 416), b = rnd(outer * 13);
  const float* xs[2] = {a.data(), b.data()};
  std::vector<float> cat(outer * 429);
  tsrec::ConcatRows(xs, inner, 2, outer, cat.data());
  for (int64_t o = 0; o < outer; o += 37) {
    CHECK(std::memcmp(&cat[o * 429], &a[o * 416], 416 * 4) == 0);
    CHECK(std::memcmp(&cat[o * 429 + 416], &b[o * 13], 13 * 4) == 0);
  }
}

int main() { return tsrec_test::run_all("tfjs_kernels"); }
