// CPU TBE kernels (fast, multi-threaded) and the naive single-threaded references they are
// tested and benchmarked against. All assume ValidateBatch() passed.
#pragma once
#include <memory>
#include <type_traits>
#include <vector>

#include "tsrec/host_buffer.h"

#include "tsrec/optim.h"
#include "tsrec/tbe.h"
#include "tsrec/thread_pool.h"

namespace tsrec {

/** Per-table pointers to weights and optimizer state. */
struct TbeTables {
  std::vector<float*> weights;             // [T]: row r of table t starts at weights[t] + r * layout.stride[t]
  std::vector<std::vector<float*>> state;  // [T][num_states]
};

/** Scratch reused across backward calls (no allocation in the hot path once warm). */
struct TbeBackwardWorkspace {
  std::vector<uint64_t> keys, keys_tmp;  // (row << 32 | position), sorted per table
  std::vector<int32_t> bag_of;           // position -> its sample b (the feature follows from the table)
  std::vector<int64_t> table_begin;      // per table: first slot in keys
  std::vector<int64_t> slice_begin;      // per slice: its first slot (slices start on runs)
  std::vector<int64_t> seq_offsets;
  std::vector<std::vector<float>> scratch;             // per thread: one (host) row gradient
  std::vector<std::shared_ptr<HostBuffer>> grad_copy;  // per output: huge-page copy of a large dL/dpooled
};

// `pooled` / `grad_pooled` hold one pointer per pooled output (layout.num_outputs()); the
// single-pointer overloads are for layouts with one output.

/**
 * Order in which the forward visits the pooled bags: feature after feature (each feature's
 * slot of every output row), sample after sample (each output row front to back), or feature
 * after feature within blocks of samples. All give bit-identical outputs; kAuto picks
 * feature-major when every pooled feature takes the lean walk into a streamed output of its
 * own, blocks when every one takes the lean walk otherwise (co-located guests), else by mean
 * bag length; TSREC_TBE_FORWARD_ORDER=feature|sample|block forces one (ForwardOrderFromEnv).
 */
enum class TbeForwardOrder { kAuto, kFeatureMajor, kSampleMajor, kBlocked };
TbeForwardOrder ForwardOrderFromEnv();

/**
 * Whether the lean forward/backward walks are on (the default) or the generic ones everywhere.
 * The lean walks serve tables whose rows TbeLeanRows accepts (the backward also needs every
 * feature reading the table to be pooled, at most 8 of them); both give the same bits. The switch exists for
 * tests and A/B measurements (TSREC_TBE_LEAN=0 sets the initial value to off).
 */
bool TbeLeanWalks();
void SetTbeLeanWalks(bool on);

/** Row widths the lean walks are specialised for (the cases of DispatchLeanDim). */
constexpr bool TbeLeanDim(int dim) { return dim == 4 || dim == 8 || dim == 16 || dim == 32 || dim == 64 || dim == 128; }

/** Calls f(std::integral_constant<int, dim>{}) when TbeLeanDim(dim); returns whether it did. */
template <typename F>
bool DispatchLeanDim(int dim, F&& f) {
  switch (dim) {
    case 4:
      f(std::integral_constant<int, 4>{});
      return true;
    case 8:
      f(std::integral_constant<int, 8>{});
      return true;
    case 16:
      f(std::integral_constant<int, 16>{});
      return true;
    case 32:
      f(std::integral_constant<int, 32>{});
      return true;
    case 64:
      f(std::integral_constant<int, 64>{});
      return true;
    case 128:
      f(std::integral_constant<int, 128>{});
      return true;
    default:
      return false;
  }
}

/**
 * Whether the rows of table t suit the lean walks: its own TbeLeanDim columns only, or those
 * followed by one co-located dim-4 table (DeepFM's [deep | wide] rows). The one definition the
 * forward and the backward both use.
 */
inline bool TbeLeanRows(const TbeLayout& l, int t) {
  const auto& members = l.members[t];
  const int d = l.tables[t].dim;
  if (members.empty() || members.size() > 2 || !TbeLeanDim(d) || l.row_offset[t] != 0) return false;
  if (members.size() == 1) return l.stride[t] == d;
  const int g = members[1];
  return l.tables[g].dim == 4 && l.stride[t] == d + 4 && l.row_offset[g] == d;
}

/** Pooled/sequence forward. */
void TbeForwardCpu(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* const* pooled,
                   float* sequence, ThreadPool& pool, TbeForwardOrder order = TbeForwardOrder::kAuto);
inline void TbeForwardCpu(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* pooled,
                          float* sequence, ThreadPool& pool, TbeForwardOrder order = TbeForwardOrder::kAuto) {
  TbeForwardCpu(l, tabs, batch, &pooled, sequence, pool, order);
}

/** Fused backward + optimizer (exact semantics; deterministic for any thread count). */
void TbeBackwardCpu(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& step,
                    const TbeBatch& batch, const float* const* grad_pooled, const float* grad_sequence,
                    TbeBackwardWorkspace& ws, ThreadPool& pool);
inline void TbeBackwardCpu(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& step,
                           const TbeBatch& batch, const float* grad_pooled, const float* grad_sequence,
                           TbeBackwardWorkspace& ws, ThreadPool& pool) {
  TbeBackwardCpu(l, tabs, oc, step, batch, &grad_pooled, grad_sequence, ws, pool);
}

/** Naive reference forward: one thread, one bag at a time, no prefetch, no specialisation. */
void TbeForwardReference(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* const* pooled,
                         float* sequence);
inline void TbeForwardReference(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* pooled,
                                float* sequence) {
  TbeForwardReference(l, tabs, batch, &pooled, sequence);
}

/** Naive reference backward: a std::map per table, the optimizer maths written out longhand. */
void TbeBackwardReference(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& step,
                          const TbeBatch& batch, const float* const* grad_pooled, const float* grad_sequence);
inline void TbeBackwardReference(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc,
                                 const OptimStep& step, const TbeBatch& batch, const float* grad_pooled,
                                 const float* grad_sequence) {
  TbeBackwardReference(l, tabs, oc, step, batch, &grad_pooled, grad_sequence);
}

}  // namespace tsrec
