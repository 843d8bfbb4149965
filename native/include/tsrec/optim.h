// Sparse optimizers of the fused TBE backward, written once.
//
// Each optimizer is a Rule: its state layout plus three pure functions
//   row_term(g')            -> contribution of one element to the row reduction (row-wise state)
//   precompute(p, row, sum) -> per-row context (e.g. row-wise Adagrad's multiplier)
//   update(p, ctx, w, g', s0, s1) -> new weight of one element, states updated in place
// The CPU loop (src/cpu/tbe_backward_cpu.cc) and the CUDA kernel (src/cuda/tbe_backward.cu)
// are skeletons around these functions, so the maths exists in exactly one place (FBGEMM's
// optimizers.py + generated kernels, without the generator). Weight decay and max_norm are
// generic and live in the skeleton helpers below.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TSREC_HD __host__ __device__ __forceinline__
#else
#define TSREC_HD inline
#endif

namespace tsrec {

/** Which sparse optimizer a collection uses. Values are part of the JS API. */
enum class OptimType : int32_t { kSgd = 0, kAdagrad = 1, kRowwiseAdagrad = 2, kAdam = 3 };

/** How weight decay is applied (TorchRec/FBGEMM names). */
enum class WeightDecayMode : int32_t { kNone = 0, kL2 = 1, kDecouple = 2 };

/** Optimizer settings fixed at collection creation. */
struct OptimizerConfig {
  OptimType type = OptimType::kSgd;
  float eps = 1e-8f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float weight_decay = 0.0f;
  WeightDecayMode weight_decay_mode = WeightDecayMode::kNone;
  /** Element-wise clamp of dL/dpooled to +-max_gradient before the update; <= 0 disables. */
  float max_gradient = 0.0f;
  /** Row renormalisation after the update; <= 0 disables. */
  float max_norm = 0.0f;
  /** Initial value of Adagrad / row-wise Adagrad accumulators. */
  float initial_accumulator_value = 0.0f;
};

/** Per-step parameters handed to the rules (the learning rate changes every step). */
struct OptimStep {
  float lr;
  float eps;
  float beta1, beta2;
  float weight_decay;
  WeightDecayMode wd_mode;
  float max_norm;
  float bias_correction1;  // Adam: 1 - beta1^t
  float bias_correction2;  // Adam: 1 - beta2^t
  float inv_dim;           // 1 / dim of the table being updated
};

/** Per-row values computed once before the element updates. */
struct RowCtx {
  float mult;
};

/** Number of fp32 element states (per weight element) of each optimizer. */
TSREC_HD int elem_states(OptimType t) { return t == OptimType::kAdagrad ? 1 : t == OptimType::kAdam ? 2 : 0; }
/** Whether the optimizer keeps one fp32 state per row. */
TSREC_HD bool has_row_state(OptimType t) { return t == OptimType::kRowwiseAdagrad; }

/** g' = g + lambda*w under L2 weight decay (every optimizer sees the decayed gradient). */
TSREC_HD float decayed_grad(const OptimStep& p, float g, float w) {
  return p.wd_mode == WeightDecayMode::kL2 ? g + p.weight_decay * w : g;
}
/** Decoupled weight decay (AdamW style): subtracted from the weight after the rule's step. */
TSREC_HD float decoupled_decay(const OptimStep& p, float w_old) {
  return p.wd_mode == WeightDecayMode::kDecouple ? p.lr * p.weight_decay * w_old : 0.0f;
}
/** max_norm scale from the squared norm of the updated row. */
TSREC_HD float max_norm_scale(const OptimStep& p, float sq_norm) {
  if (p.max_norm <= 0.0f) return 1.0f;
  float n = sqrtf(sq_norm);
  return n > p.max_norm ? p.max_norm / n : 1.0f;
}
/** Clamp of the incoming gradient (max_gradient <= 0: no clamp). */
TSREC_HD float clip_grad(float g, float max_gradient) {
  if (max_gradient <= 0.0f) return g;
  return g > max_gradient ? max_gradient : (g < -max_gradient ? -max_gradient : g);
}

/** w -= lr * g' */
struct SgdRule {
  static constexpr bool kRowReduce = false;
  TSREC_HD static float row_term(float) { return 0.0f; }
  TSREC_HD static RowCtx precompute(const OptimStep& p, float*, float) { return RowCtx{p.lr}; }
  TSREC_HD static float update(const OptimStep&, RowCtx c, float w, float g, float*, float*) { return w - c.mult * g; }
};

/** G += g'^2; w -= lr * g' / (sqrt(G) + eps) */
struct AdagradRule {
  static constexpr bool kRowReduce = false;
  TSREC_HD static float row_term(float) { return 0.0f; }
  TSREC_HD static RowCtx precompute(const OptimStep& p, float*, float) { return RowCtx{p.lr}; }
  TSREC_HD static float update(const OptimStep& p, RowCtx c, float w, float g, float* s0, float*) {
    float acc = *s0 + g * g;
    *s0 = acc;
    return w - c.mult * g / (sqrtf(acc) + p.eps);
  }
};

/** m_r += mean_d(g'^2); mult = lr / (sqrt(m_r) + eps); w -= mult * g' */
struct RowwiseAdagradRule {
  static constexpr bool kRowReduce = true;
  TSREC_HD static float row_term(float g) { return g * g; }
  TSREC_HD static RowCtx precompute(const OptimStep& p, float* row_state, float sum) {
    float m = *row_state + sum * p.inv_dim;
    *row_state = m;
    return RowCtx{p.lr / (sqrtf(m) + p.eps)};
  }
  TSREC_HD static float update(const OptimStep&, RowCtx c, float w, float g, float*, float*) { return w - c.mult * g; }
};

/** m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2; w -= lr * (m/bc1) / (sqrt(v/bc2) + eps) */
struct AdamRule {
  static constexpr bool kRowReduce = false;
  TSREC_HD static float row_term(float) { return 0.0f; }
  TSREC_HD static RowCtx precompute(const OptimStep& p, float*, float) { return RowCtx{p.lr}; }
  TSREC_HD static float update(const OptimStep& p, RowCtx c, float w, float g, float* s0, float* s1) {
    float m = p.beta1 * *s0 + (1.0f - p.beta1) * g;
    float v = p.beta2 * *s1 + (1.0f - p.beta2) * g * g;
    *s0 = m;
    *s1 = v;
    float mhat = m / p.bias_correction1;
    float vhat = v / p.bias_correction2;
    return w - c.mult * mhat / (sqrtf(vhat) + p.eps);
  }
};

/** Calls f(Rule{}) with the rule type of `t` (one switch for every skeleton). */
template <typename F>
auto dispatch_rule(OptimType t, F&& f) {
  switch (t) {
    case OptimType::kAdagrad:
      return f(AdagradRule{});
    case OptimType::kRowwiseAdagrad:
      return f(RowwiseAdagradRule{});
    case OptimType::kAdam:
      return f(AdamRule{});
    case OptimType::kSgd:
    default:
      return f(SgdRule{});
  }
}

/** Human name of an optimizer (matches the JS option strings). */
inline const char* optim_name(OptimType t) {
  switch (t) {
    case OptimType::kSgd:
      return "sgd";
    case OptimType::kAdagrad:
      return "adagrad";
    case OptimType::kRowwiseAdagrad:
      return "rowwise_adagrad";
    case OptimType::kAdam:
      return "adam";
  }
  return "?";
}

}  // namespace tsrec
