// Activations shared by the fused matmul epilogue and the unary kernels. Each follows the
// tfjs cpu backend's formula (tfjs-backend-cpu/src/kernels/<Name>.ts), NaN propagation included,
// so the `tsrec` tfjs backend gives the cpu backend's results.
#pragma once
#include <cmath>
#include <cstdint>

namespace tsrec {

/** tfjs fused activations (backend_util.Activation). */
enum class Activation : int32_t {
  kLinear = 0,
  kRelu = 1,
  kRelu6 = 2,
  kSigmoid = 3,
  kElu = 4,
  kLeakyRelu = 5,
  kPrelu = 6
};

/** Math.max(0, x): NaN stays NaN. */
inline float ReluF(float x) { return x < 0.0f ? 0.0f : x; }
/** Math.min(Math.max(0, x), 6). */
inline float Relu6F(float x) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }
/** 1 / (1 + exp(-x)). */
inline float SigmoidF(float x) { return 1.0f / (1.0f + std::exp(-x)); }
/** x >= 0 ? x : exp(x) - 1. */
inline float EluF(float x) { return x >= 0.0f ? x : std::expm1(x); }
/** x < 0 ? alpha * x : x (LeakyRelu and Prelu). */
inline float LeakyF(float x, float alpha) { return x < 0.0f ? alpha * x : x; }

/** Applies `act` to y[0..n); prelu reads alpha[j % alpha_len] for column j of rows of width `width`. */
void ApplyActivation(Activation act, float* y, int64_t rows, int64_t width, float leaky_alpha, const float* prelu_alpha,
                     int64_t prelu_len);

}  // namespace tsrec
