#include "tsrec/fused_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tsrec/gemm.h"
#include "tsrec/matmul_kernels.h"
#include "tsrec/thread_pool.h"

namespace tsrec {

namespace {

// Column sums Σ_n x[n, d] and Σ_n x[n, d]² of one sample's [N, D] block, in double and in n order
// (the TS reference's order). D is a compile-time constant for the common widths so the d loop
// stays in registers; kD = 0 is the general case.
template <int kD>
inline void FmSums(const float* x, int64_t N, int64_t D, double* s, double* sq) {
  const int64_t d_n = kD ? kD : D;
  for (int64_t d = 0; d < d_n; ++d) s[d] = sq[d] = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* row = x + n * d_n;
    for (int64_t d = 0; d < d_n; ++d) {
      const double v = row[d];
      s[d] += v;
      sq[d] += v * v;
    }
  }
}

template <int kD>
void FmForwardT(const float* x, int64_t B, int64_t N, int64_t D, float* out) {
  ForRanges(B, N * D, [&](int64_t b0, int64_t b1) {
    std::vector<double> buf(kD ? 0 : 2 * D);
    double s_fixed[kD ? 2 * kD : 1];
    double* s = kD ? s_fixed : buf.data();
    double* sq = s + (kD ? kD : D);
    const int64_t d_n = kD ? kD : D;
    for (int64_t b = b0; b < b1; ++b) {
      FmSums<kD>(x + b * N * d_n, N, d_n, s, sq);
      float* o = out + b * d_n;
      for (int64_t d = 0; d < d_n; ++d) o[d] = static_cast<float>(0.5 * (s[d] * s[d] - sq[d]));
    }
  });
}

template <int kD>
void FmBackwardT(const float* x, const float* dy, int64_t B, int64_t N, int64_t D, float* dx) {
  ForRanges(B, N * D, [&](int64_t b0, int64_t b1) {
    std::vector<double> buf(kD ? 0 : D);
    double s_fixed[kD ? kD : 1];
    double* s = kD ? s_fixed : buf.data();
    const int64_t d_n = kD ? kD : D;
    for (int64_t b = b0; b < b1; ++b) {
      const float* xb = x + b * N * d_n;
      float* dxb = dx + b * N * d_n;
      for (int64_t d = 0; d < d_n; ++d) s[d] = 0.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t d = 0; d < d_n; ++d) s[d] += xb[n * d_n + d];
      const float* g = dy + b * d_n;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t d = 0; d < d_n; ++d)
          dxb[n * d_n + d] = static_cast<float>(static_cast<double>(g[d]) * (s[d] - xb[n * d_n + d]));
    }
  });
}

}  // namespace

void FmInteractionForward(const float* x, int64_t B, int64_t N, int64_t D, float* out) {
  switch (D) {
    case 8:
      return FmForwardT<8>(x, B, N, D, out);
    case 16:
      return FmForwardT<16>(x, B, N, D, out);
    case 32:
      return FmForwardT<32>(x, B, N, D, out);
    case 64:
      return FmForwardT<64>(x, B, N, D, out);
    default:
      return FmForwardT<0>(x, B, N, D, out);
  }
}

void FmInteractionBackward(const float* x, const float* dy, int64_t B, int64_t N, int64_t D, float* dx) {
  switch (D) {
    case 8:
      return FmBackwardT<8>(x, dy, B, N, D, dx);
    case 16:
      return FmBackwardT<16>(x, dy, B, N, D, dx);
    case 32:
      return FmBackwardT<32>(x, dy, B, N, D, dx);
    case 64:
      return FmBackwardT<64>(x, dy, B, N, D, dx);
    default:
      return FmBackwardT<0>(x, dy, B, N, D, dx);
  }
}

double SigmoidBceWithLogits(const float* logits, const float* labels, const float* weights, int64_t n,
                            double label_smoothing, float* d_logits, int64_t* bad_index) {
  *bad_index = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(logits[i])) {
      *bad_index = i;
      return std::numeric_limits<double>::quiet_NaN();
    }
  }
  double total = 0.0;
  if (weights) {
    for (int64_t i = 0; i < n; ++i) total += weights[i];
  } else {
    total = static_cast<double>(n);
  }
  if (total == 0.0) {
    for (int64_t i = 0; i < n; ++i) d_logits[i] = 0.0f;
    return 0.0;
  }
  const double inv = 1.0 / total;
  const double s = label_smoothing;
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = logits[i];
    const double y = labels[i] * (1.0 - s) + 0.5 * s;
    const double w = weights ? static_cast<double>(weights[i]) : 1.0;
    const double e = std::exp(-std::fabs(x));
    const double sig = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    loss += w * ((x > 0 ? x : 0.0) - x * y + std::log1p(e));
    d_logits[i] = static_cast<float>(w * inv * (sig - y));
  }
  return loss * inv;
}

namespace {

// Range loops take everything as parameters (see UnaryRange in elementwise_kernels.cc: captured
// references would keep the loops scalar).
void AdamRange(const float* value, const float* m, const float* v, const float* g, int64_t b, int64_t e,
               const AdamConstants c, float* value_out, float* m_out, float* v_out) {
  // Outputs alias their own input at the same index or nothing: no dependence across i, so the
  // loop vectorises (IEEE division and sqrt lane by lane: the same floats as the scalar loop).
#pragma GCC ivdep
  for (int64_t i = b; i < e; ++i) {
    const float gi = g[i];
    const float m1 = m[i] * c.beta1 + gi * c.one_minus_beta1;
    const float v1 = v[i] * c.beta2 + (gi * gi) * c.one_minus_beta2;
    const float mh = m1 / c.one_minus_acc_beta1;
    const float vh = v1 / c.one_minus_acc_beta2;
    const float step = (mh / (std::sqrt(vh) + c.epsilon)) * c.neg_lr;
    value_out[i] = step + value[i];
    m_out[i] = m1;
    v_out[i] = v1;
  }
}

void ReluGradRange(const float* dy, const float* y, int64_t b, int64_t e, float* dx) {
#pragma GCC ivdep
  for (int64_t i = b; i < e; ++i) {
    const float yi = y[i];
    // tfjs's step(y): 1 above 0, NaN for NaN, else 0; two selects, so the loop vectorises.
    const float step = yi > 0.0f ? 1.0f : 0.0f;
    dx[i] = dy[i] * (yi != yi ? yi : step);
  }
}

// One block of rows of the dense backward's first pass: dz = act'(dy) (the ReLU mask from y when
// relu, else dy itself) and the block's column sums in double.
void MaskAndSumRows(const float* dy, const float* y, bool relu, int64_t r0, int64_t r1, int64_t N, float* dz,
                    double* sums) {
  for (int64_t j = 0; j < N; ++j) sums[j] = 0.0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* g = dy + r * N;
    if (relu) {
      ReluGradRange(g, y + r * N, 0, N, dz + r * N);  // the row stays in L1 for the sums
      g = dz + r * N;
    }
    for (int64_t j = 0; j < N; ++j) sums[j] += static_cast<double>(g[j]);
  }
}

}  // namespace

void AdamUpdate(const float* value, const float* m, const float* v, const float* g, int64_t n, const AdamConstants& c,
                float* value_out, float* m_out, float* v_out) {
  const AdamConstants k = c;
  ForRanges(n, 4, [=](int64_t b, int64_t e) { AdamRange(value, m, v, g, b, e, k, value_out, m_out, v_out); });
}

void ReluGrad(const float* dy, const float* y, int64_t n, float* dx) {
  ForRanges(n, 1, [=](int64_t b, int64_t e) { ReluGradRange(dy, y, b, e, dx); });
}

void ColumnSum(const float* x, int64_t rows, int64_t cols, float* out) {
  auto run = [&](int64_t c0, int64_t c1) {
    std::vector<double> acc(static_cast<size_t>(c1 - c0), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = x + r * cols + c0;
      for (int64_t c = 0; c < c1 - c0; ++c) acc[c] += p[c];
    }
    for (int64_t c = 0; c < c1 - c0; ++c) out[c0 + c] = static_cast<float>(acc[c]);
  };
  if (rows * cols < ParallelMinWork() || cols < 32) {
    run(0, cols);
  } else {
    ThreadPool::global().parallel_for(cols, [&](int64_t b, int64_t e, int) { run(b, e); });
  }
}

void DenseBackward(const float* x, const float* w, const float* y, const float* dy, int64_t M, int64_t K, int64_t N,
                   bool relu, float* dx, float* dw, float* db) {
  const DenseBlock block{x, K};
  DenseBlocksBackward(&block, 1, w, y, dy, M, N, relu, &dx, dw, db);
}

void DenseBlocksForward(const DenseBlock* xs, int num_blocks, const float* w, const float* bias, bool relu, int64_t M,
                        int64_t N, float* y) {
  if (M == 0 || N == 0) return;
  MatMulEpilogue ep;
  ep.bias = bias;
  ep.bias_len = bias ? N : 0;
  ep.activation = relu ? Activation::kRelu : Activation::kLinear;
  int64_t K = 0;
  for (int i = 0; i < num_blocks; ++i) K += xs[i].k;
  // Row panels: every block's GEMM and the epilogue while the panel of y is in cache.
  if (K > 0 && RunGemmPanels(M, N, K, [&](int64_t r0, int64_t r1) {
        bool panel_written = false;
        int64_t kb = 0;
        for (int i = 0; i < num_blocks; ++i) {
          const int64_t k = xs[i].k;
          if (k > 0) {
            Sgemm(false, false, r1 - r0, N, k, 1.0f, xs[i].x + r0 * k, k, w + kb * N, N, panel_written ? 1.0f : 0.0f,
                  y + r0 * N, N);
            panel_written = true;
          }
          kb += k;
        }
        ApplyMatMulEpilogueRows(y + r0 * N, r1 - r0, N, ep);
      }))
    return;
  bool written = false;
  int64_t k0 = 0;
  for (int i = 0; i < num_blocks; ++i) {
    const int64_t k = xs[i].k;
    if (k > 0) {
      Sgemm(false, false, M, N, k, 1.0f, xs[i].x, k, w + k0 * N, N, written ? 1.0f : 0.0f, y, N);
      written = true;
    }
    k0 += k;
  }
  if (!written) std::fill(y, y + M * N, 0.0f);
  ApplyMatMulEpilogue(y, M, N, ep);
}

void DenseBlocksBackward(const DenseBlock* xs, int num_blocks, const float* w, const float* y, const float* dy,
                         int64_t M, int64_t N, bool relu, float* const* dxs, float* dw, float* db) {
  const float* dz = dy;
  // Reused across calls: a train step runs the same shapes every time.
  static thread_local std::vector<float> scratch;
  static thread_local std::vector<double> partial;
  if (relu && scratch.size() < static_cast<size_t>(M * N)) scratch.resize(static_cast<size_t>(M * N));
  if (relu && !db) {
    ReluGrad(dy, y, M * N, scratch.data());
    dz = scratch.data();
  } else if (db) {
    // One pass for the mask and the bias sums: rows in fixed blocks of kRows (the block count
    // depends on M only), each block's column sums in double, then the blocks added in order, so
    // db has the same bits whatever the thread count.
    constexpr int64_t kRows = 256;
    const int64_t blocks = std::max<int64_t>(1, (M + kRows - 1) / kRows);
    if (partial.size() < static_cast<size_t>(blocks * N)) partial.resize(static_cast<size_t>(blocks * N));
    float* out = relu ? scratch.data() : nullptr;
    double* part = partial.data();
    ForRanges(blocks, kRows * N, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        MaskAndSumRows(dy, y, relu, b * kRows, std::min(M, (b + 1) * kRows), N, out, part + b * N);
    });
    if (relu) dz = out;
    for (int64_t j = 0; j < N; ++j) {
      double s = 0.0;
      for (int64_t b = 0; b < blocks; ++b) s += part[b * N + j];
      db[j] = static_cast<float>(s);
    }
  }
  int64_t k0 = 0;
  for (int i = 0; i < num_blocks; ++i) {
    const int64_t k = xs[i].k;
    float* dx = dxs[i];
    if (M == 0 || N == 0) {
      if (dx) std::fill(dx, dx + M * k, 0.0f);
      std::fill(dw + k0 * N, dw + (k0 + k) * N, 0.0f);
    } else if (k > 0) {
      if (dx) Sgemm(false, true, M, k, N, 1.0f, dz, N, w + k0 * N, N, 0.0f, dx, k);
      Sgemm(true, false, k, N, M, 1.0f, xs[i].x, k, dz, N, 0.0f, dw + k0 * N, N);
    }
    k0 += k;
  }
}

}  // namespace tsrec
