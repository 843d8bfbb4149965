// Element-wise float32 kernels with numpy/tfjs broadcasting, for the `tsrec` tfjs backend. Each op
// follows the tfjs cpu backend's formula (NaN propagation included). Large arrays are split across
// the global thread pool (static ranges, so results never depend on scheduling).
#pragma once
#include <cstdint>

namespace tsrec {

/** Unary ops (tfjs kernel names). */
enum class UnaryOp : int32_t {
  kRelu = 0,
  kRelu6 = 1,
  kSigmoid = 2,
  kElu = 3,
  kLeakyRelu = 4,
  kStep = 5,
  kNeg = 6,
  kSquare = 7,
  kExp = 8,
  kLog = 9,
  kSqrt = 10,
  kAbs = 11,
  kLog1p = 12,
  kRsqrt = 13,
  kTanh = 14,
  kReciprocal = 15,
};

/** Binary ops (tfjs kernel names); kPrelu is x < 0 ? alpha·x : x with b = alpha. */
enum class BinaryOp : int32_t {
  kAdd = 0,
  kSub = 1,
  kMul = 2,
  kDiv = 3,
  kMax = 4,
  kMin = 5,
  kSquaredDiff = 6,
  kPrelu = 7
};

/** y[i] = op(x[i]); alpha is Step's / LeakyRelu's attribute. y may alias x. */
void UnaryKernel(UnaryOp op, const float* x, float* y, int64_t n, float alpha);

/** Largest rank BinaryKernel accepts (after collapsing, any tfjs rank fits). */
constexpr int kMaxBroadcastRank = 8;

/**
 * out = op(a, b) with broadcasting. Shapes are given at the output's rank (`rank` <= kMaxBroadcastRank):
 * a_shape[d] and b_shape[d] are out_shape[d] or 1. Returns false (and writes nothing) when the
 * shapes do not fit that contract.
 */
bool BinaryKernel(BinaryOp op, const float* a, const int64_t* a_shape, const float* b, const int64_t* b_shape,
                  float* out, const int64_t* out_shape, int rank);

}  // namespace tsrec
