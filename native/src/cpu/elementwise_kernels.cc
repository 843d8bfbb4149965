#include "tsrec/elementwise_kernels.h"

#include <cmath>
#include <vector>

#include "tsrec/activation.h"
#include "tsrec/thread_pool.h"

namespace tsrec {

namespace {

template <UnaryOp Op>
inline float UnaryF(float x, float alpha) {
  if constexpr (Op == UnaryOp::kRelu) return ReluF(x);
  if constexpr (Op == UnaryOp::kRelu6) return Relu6F(x);
  if constexpr (Op == UnaryOp::kSigmoid) return SigmoidF(x);
  if constexpr (Op == UnaryOp::kElu) return EluF(x);
  if constexpr (Op == UnaryOp::kLeakyRelu) return LeakyF(x, alpha);
  if constexpr (Op == UnaryOp::kStep) return x != x ? x : (x > 0.0f ? 1.0f : alpha);
  if constexpr (Op == UnaryOp::kNeg) return -x;
  if constexpr (Op == UnaryOp::kSquare) return x * x;
  if constexpr (Op == UnaryOp::kExp) return std::exp(x);
  if constexpr (Op == UnaryOp::kLog) return std::log(x);
  if constexpr (Op == UnaryOp::kSqrt) return std::sqrt(x);
  if constexpr (Op == UnaryOp::kAbs) return std::fabs(x);
  if constexpr (Op == UnaryOp::kLog1p) return std::log1p(x);
  if constexpr (Op == UnaryOp::kRsqrt) return 1.0f / std::sqrt(x);
  if constexpr (Op == UnaryOp::kTanh) return std::tanh(x);
  if constexpr (Op == UnaryOp::kReciprocal) return 1.0f / x;
  return x;
}

// The loop over one range takes its pointers and alpha as parameters: inside a lambda that captures
// them by reference, a float store through y may alias the captured alpha, so GCC reloads it every
// iteration and leaves the loop scalar and branchy (measured: Step/Relu over 1M mixed-sign values
// 5.4 ms on the pool path vs ~0.3 ms vectorised).
template <UnaryOp Op>
void UnaryRange(const float* x, float* y, int64_t b, int64_t e, float alpha) {
  for (int64_t i = b; i < e; ++i) y[i] = UnaryF<Op>(x[i], alpha);
}

template <UnaryOp Op>
void UnaryT(const float* x, float* y, int64_t n, float alpha) {
  ForRanges(n, 1, [=](int64_t b, int64_t e) { UnaryRange<Op>(x, y, b, e, alpha); });
}

template <BinaryOp Op>
inline float BinaryF(float a, float b) {
  if constexpr (Op == BinaryOp::kAdd) return a + b;
  if constexpr (Op == BinaryOp::kSub) return a - b;
  if constexpr (Op == BinaryOp::kMul) return a * b;
  if constexpr (Op == BinaryOp::kDiv) return a / b;
  // Math.max / Math.min: NaN if either is NaN.
  if constexpr (Op == BinaryOp::kMax) return (a != a || b != b) ? NAN : (a > b ? a : b);
  if constexpr (Op == BinaryOp::kMin) return (a != a || b != b) ? NAN : (a < b ? a : b);
  if constexpr (Op == BinaryOp::kSquaredDiff) {
    const float d = a - b;
    return d * d;
  }
  if constexpr (Op == BinaryOp::kPrelu) return a < 0.0f ? b * a : a;
  return a;
}

// The inner loop with a's and b's element strides fixed at compile time (0 = broadcast), so it vectorises.
template <BinaryOp Op, int SA, int SB>
inline void InnerLoop(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = BinaryF<Op>(a[i * SA], b[i * SB]);
}

template <BinaryOp Op>
void BinaryT(const float* a, const float* b, float* out, const std::vector<int64_t>& dims,
             const std::vector<int64_t>& sa, const std::vector<int64_t>& sb) {
  const int r = static_cast<int>(dims.size());
  const int64_t inner = dims[r - 1];
  const int64_t ia = sa[r - 1], ib = sb[r - 1];
  int64_t rows = 1;
  for (int d = 0; d < r - 1; ++d) rows *= dims[d];
  ForRanges(rows, inner, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      int64_t oa = 0, ob = 0, rem = row;
      for (int d = r - 2; d >= 0; --d) {
        const int64_t idx = rem % dims[d];
        rem /= dims[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      float* o = out + row * inner;
      if (ia && ib)
        InnerLoop<Op, 1, 1>(a + oa, b + ob, o, inner);
      else if (ia)
        InnerLoop<Op, 1, 0>(a + oa, b + ob, o, inner);
      else if (ib)
        InnerLoop<Op, 0, 1>(a + oa, b + ob, o, inner);
      else
        InnerLoop<Op, 0, 0>(a + oa, b + ob, o, inner);
    }
  });
}

}  // namespace

void UnaryKernel(UnaryOp op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
#define TSREC_UNARY_CASE(NAME) \
  case UnaryOp::NAME:          \
    return UnaryT<UnaryOp::NAME>(x, y, n, alpha);
    TSREC_UNARY_CASE(kRelu)
    TSREC_UNARY_CASE(kRelu6)
    TSREC_UNARY_CASE(kSigmoid)
    TSREC_UNARY_CASE(kElu)
    TSREC_UNARY_CASE(kLeakyRelu)
    TSREC_UNARY_CASE(kStep)
    TSREC_UNARY_CASE(kNeg)
    TSREC_UNARY_CASE(kSquare)
    TSREC_UNARY_CASE(kExp)
    TSREC_UNARY_CASE(kLog)
    TSREC_UNARY_CASE(kSqrt)
    TSREC_UNARY_CASE(kAbs)
    TSREC_UNARY_CASE(kLog1p)
    TSREC_UNARY_CASE(kRsqrt)
    TSREC_UNARY_CASE(kTanh)
    TSREC_UNARY_CASE(kReciprocal)
#undef TSREC_UNARY_CASE
  }
}

bool BinaryKernel(BinaryOp op, const float* a, const int64_t* a_shape, const float* b, const int64_t* b_shape,
                  float* out, const int64_t* out_shape, int rank) {
  if (rank < 0 || rank > kMaxBroadcastRank) return false;
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    if ((a_shape[d] != out_shape[d] && a_shape[d] != 1) || (b_shape[d] != out_shape[d] && b_shape[d] != 1))
      return false;
    total *= out_shape[d];
  }
  if (total == 0) return true;
  // Collapse: drop size-1 output dims, merge neighbours whose broadcast pattern is the same.
  std::vector<int64_t> dims;
  std::vector<int> pat;  // bit 0: a broadcast, bit 1: b broadcast
  for (int d = 0; d < rank; ++d) {
    if (out_shape[d] == 1) continue;
    const int p = (a_shape[d] == 1 ? 1 : 0) | (b_shape[d] == 1 ? 2 : 0);
    if (!dims.empty() && pat.back() == p) {
      dims.back() *= out_shape[d];
    } else {
      dims.push_back(out_shape[d]);
      pat.push_back(p);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    pat.push_back(0);
  }
  const int r = static_cast<int>(dims.size());
  std::vector<int64_t> sa(r), sb(r);
  int64_t ca = 1, cb = 1;
  for (int d = r - 1; d >= 0; --d) {
    sa[d] = (pat[d] & 1) ? 0 : ca;
    sb[d] = (pat[d] & 2) ? 0 : cb;
    if (!(pat[d] & 1)) ca *= dims[d];
    if (!(pat[d] & 2)) cb *= dims[d];
  }
  switch (op) {
#define TSREC_BINARY_CASE(NAME)                       \
  case BinaryOp::NAME:                                \
    BinaryT<BinaryOp::NAME>(a, b, out, dims, sa, sb); \
    return true;
    TSREC_BINARY_CASE(kAdd)
    TSREC_BINARY_CASE(kSub)
    TSREC_BINARY_CASE(kMul)
    TSREC_BINARY_CASE(kDiv)
    TSREC_BINARY_CASE(kMax)
    TSREC_BINARY_CASE(kMin)
    TSREC_BINARY_CASE(kSquaredDiff)
    TSREC_BINARY_CASE(kPrelu)
#undef TSREC_BINARY_CASE
  }
  return false;
}

}  // namespace tsrec
