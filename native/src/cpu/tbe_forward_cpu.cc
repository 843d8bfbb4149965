// CPU TBE forward: bags (or samples, or blocks of samples) handed out to the pool's threads in
// chunks, rows gathered with software prefetch a fixed distance ahead; lean walks for the
// common layouts (TbeLeanRows: a row is one vector, no per-bag bookkeeping) and a generic walk
// for the rest, with the same bits; pooled rows streamed out with non-temporal stores when the
// output is 64-byte aligned (see alignedFloat32Array in @tsrec/native).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "tsrec/prefetch.h"
#include "tsrec/stream_store.h"
#include "tsrec/tbe_cpu.h"

namespace tsrec {

namespace {

constexpr int64_t kPrefetch = 16;  // rows ahead; see native/bench/NOTES.md

template <int D>
inline void accum_fixed(float* __restrict out, const float* __restrict row, float w) {
  for (int d = 0; d < D; ++d) out[d] += w * row[d];
}
inline void accum_any(float* __restrict out, const float* __restrict row, float w, int dim) {
  for (int d = 0; d < dim; ++d) out[d] += w * row[d];
}
inline void accum(float* __restrict out, const float* __restrict row, float w, int dim) {
  switch (dim) {
    case 4:
      return accum_fixed<4>(out, row, w);
    case 8:
      return accum_fixed<8>(out, row, w);
    case 16:
      return accum_fixed<16>(out, row, w);
    case 32:
      return accum_fixed<32>(out, row, w);
    case 64:
      return accum_fixed<64>(out, row, w);
    case 128:
      return accum_fixed<128>(out, row, w);
    default:
      return accum_any(out, row, w, dim);
  }
}

inline void prefetch_row(const float* row, int dim) { prefetch_span_read(row, dim * 4); }

std::atomic<bool>& lean_flag() {
  static std::atomic<bool> on{[] {
    const char* v = std::getenv("TSREC_TBE_LEAN");
    return !(v && std::strcmp(v, "0") == 0);
  }()};
  return on;
}

constexpr int kMaxStreamDim = 512;

/** Where one member (the feature's table or a table co-located in its rows) of a pooled feature goes. */
struct MemberSlot {
  const float* W;  // member's weights (row r at W + r * stride of its feature)
  float* out;      // output o, row 0, the member's column for this feature
  int64_t P;       // columns of output o
  int dim;
  bool stream;  // whole 64-byte lines of an aligned output: accumulated aside, then streamed
};

/** Appends the slots of pooled feature f's members. */
void append_member_slots(const TbeLayout& l, const TbeTables& tabs, float* const* pooled, int64_t f,
                         std::vector<MemberSlot>* slots) {
  const auto& members = l.members[l.features[f].table];
  for (size_t mi = 0; mi < members.size(); ++mi) {
    const int32_t m = members[mi];
    const int o = l.tables[m].output;
    MemberSlot ms;
    ms.W = tabs.weights[m];
    ms.out = pooled[o] + l.member_col[f][mi];
    ms.P = l.pooled_dims[o];
    ms.dim = l.tables[m].dim;
    ms.stream = ms.dim <= kMaxStreamDim && (ms.P * 4) % 64 == 0 && can_stream(ms.out, ms.dim);
    slots->push_back(ms);
  }
}

// Pools bag [s, e) into row b of member m's output (MEAN scaling when `mean`); `before(i)` runs
// ahead of each index's accumulation (the feature-major walk prefetches there). Returns whether
// the row was streamed (the caller fences once after its run of rows).
template <typename IdxT, typename Before>
inline bool pool_member(const MemberSlot& m, const IdxT* idx, const float* wts, int64_t s, int64_t e, int64_t stride,
                        bool mean, int64_t b, float* acc, Before before) {
  float* o = m.out + b * m.P;
  float* a = m.stream ? acc : o;
  std::memset(a, 0, sizeof(float) * m.dim);
  for (int64_t i = s; i < e; ++i) {
    before(i);
    accum(a, m.W + static_cast<int64_t>(idx[i]) * stride, wts ? wts[i] : 1.0f, m.dim);
  }
  if (mean && e > s) {
    const float inv = 1.0f / static_cast<float>(e - s);
    for (int d = 0; d < m.dim; ++d) a[d] *= inv;
  }
  if (m.stream) stream_row(o, a, m.dim);
  return m.stream;
}

// Lean walk of one feature's bags [kb, ke) for a table whose rows hold only its own D floats
// (DG == 0) or those and a co-located table's DG floats (DeepFM's deep + wide rows), dims the
// compiler keeps in registers. The generic walk costs ~60 instructions a bag (slot bookkeeping,
// a memset call, the dim switch); with one id per bag that limits how many row misses the
// out-of-order window holds, and the walk ran at a quarter of the rate a plain loop reaches on
// the same rows (native/bench/NOTES.md, session 10). The arithmetic is the generic walk's
// (accumulator from zero, `a += w * row` in index order, MEAN scaling), so the bits match.
template <int D, int DG, bool kWeighted, typename IdxT, typename OffT>
void pool_bags_fixed(const MemberSlot& m, const MemberSlot* g, int64_t stride, const IdxT* idx, const OffT* off,
                     const float* wts, int64_t kb, int64_t ke, int64_t b0, bool mean) {
  // A whole row as one GCC vector (split into registers by the compiler): plain `float a[D]`
  // loops came out as scalar adds and lane inserts.
  typedef float Row __attribute__((vector_size(D * 4)));
  typedef float GRow __attribute__((vector_size((DG == 0 ? 4 : DG) * 4)));
  const float* __restrict W = m.W;
  const float* __restrict WG = DG > 0 ? g->W : nullptr;
  constexpr int kLines = D * 4 >= 64 ? D * 4 / 64 : 1;  // rows of D floats from a 64-byte aligned base
  const int row_bytes = static_cast<int>(stride) * 4;
  const int64_t seg_begin = off[kb], seg_end = off[ke];
  auto prefetch = [&](int64_t i) {
    const char* p = reinterpret_cast<const char*>(W + static_cast<int64_t>(idx[i]) * stride);
    if (DG == 0) {
      for (int l = 0; l < kLines; ++l) prefetch_read(p + 64 * l);
    } else {
      prefetch_span_read(p, row_bytes);
    }
  };
  for (int64_t i = seg_begin; i < std::min(seg_end, seg_begin + kPrefetch); ++i) prefetch(i);
  for (int64_t kk = kb; kk < ke; ++kk) {
    const int64_t s = off[kk], e = off[kk + 1];
    Row a = {};
    GRow ag = {};
    for (int64_t i = s; i < e; ++i) {
      if (i + kPrefetch < seg_end) prefetch(i + kPrefetch);
      const int64_t r = static_cast<int64_t>(idx[i]) * stride;
      Row row;
      std::memcpy(&row, W + r, sizeof(Row));
      if (kWeighted)
        a += wts[i] * row;
      else
        a += row;  // == a + 1.0f * row, bit for bit
      if constexpr (DG > 0) {
        GRow rg;
        std::memcpy(&rg, WG + r, sizeof(GRow));
        if (kWeighted)
          ag += wts[i] * rg;
        else
          ag += rg;
      }
    }
    if (mean && e > s) {
      const float inv = 1.0f / static_cast<float>(e - s);
      a *= inv;
      if constexpr (DG > 0) ag *= inv;
    }
    if constexpr (DG > 0) std::memcpy(g->out + (kk - b0) * g->P, &ag, sizeof(GRow));
    float* o = m.out + (kk - b0) * m.P;
    if constexpr (D % 16 == 0) {
      if (m.stream) {
        alignas(64) float buf[D];
        std::memcpy(buf, &a, sizeof(Row));
        stream_row(o, buf, D);
        continue;
      }
    }
    std::memcpy(o, &a, sizeof(Row));
  }
}

/** pool_bags_fixed for the slots' dims (the feature's table has TbeLeanRows: nm is 1, or 2 with a dim-4 guest). */
template <typename IdxT, typename OffT>
void pool_bags_lean(const MemberSlot* sl, int nm, int64_t stride, const IdxT* idx, const OffT* off, const float* wts,
                    int64_t kb, int64_t ke, int64_t b0, bool mean) {
  DispatchLeanDim(sl[0].dim, [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    if (nm == 2) {
      if (wts)
        pool_bags_fixed<D, 4, true>(sl[0], sl + 1, stride, idx, off, wts, kb, ke, b0, mean);
      else
        pool_bags_fixed<D, 4, false>(sl[0], sl + 1, stride, idx, off, wts, kb, ke, b0, mean);
    } else {
      if (wts)
        pool_bags_fixed<D, 0, true>(sl[0], nullptr, stride, idx, off, wts, kb, ke, b0, mean);
      else
        pool_bags_fixed<D, 0, false>(sl[0], nullptr, stride, idx, off, wts, kb, ke, b0, mean);
    }
  });
}

template <typename IdxT, typename OffT>
void forward_range(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* const* pooled,
                   float* sequence, const std::vector<int64_t>& seq_off, int64_t kb, int64_t ke, bool skip_pooled) {
  const auto* idx = static_cast<const IdxT*>(batch.indices);
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const float* wts = batch.weights;
  const int64_t B = batch.batch_size;
  for (int64_t k = kb; k < ke;) {
    const int64_t f = k / B;
    const int64_t k_end = std::min(ke, (f + 1) * B);  // bags of this feature in range
    const auto& fc = l.features[f];
    const int dim = l.tables[fc.table].dim;
    const int64_t stride = l.stride[fc.table];  // == dim unless the table hosts co-located tables
    const float* W = tabs.weights[fc.table];
    const int64_t seg_end = off[k_end];
    if (fc.pooling != Pooling::kNone && skip_pooled) {
      k = k_end;
      continue;
    }
    if (fc.pooling == Pooling::kNone) {
      float* out = sequence + seq_off[f];
      const int64_t base = off[f * B];
      for (int64_t i = off[k]; i < seg_end; ++i) {
        if (i + kPrefetch < seg_end) prefetch_row(W + static_cast<int64_t>(idx[i + kPrefetch]) * stride, dim);
        const float* row = W + static_cast<int64_t>(idx[i]) * stride;
        float* o = out + (i - base) * dim;
        const float w = wts ? wts[i] : 1.0f;
        for (int d = 0; d < dim; ++d) o[d] = w * row[d];
      }
    } else {
      // The table and its co-located guests: one row fetch, one accumulator slot each. Whole-line
      // slots of a 64-byte aligned output are accumulated in registers/L1 and then streamed out
      // (no read-for-ownership); otherwise accumulated in place.
      thread_local std::vector<MemberSlot> tls_slots;  // this worker's (called inside the worker)
      std::vector<MemberSlot>& slots = tls_slots;
      slots.clear();
      append_member_slots(l, tabs, pooled, f, &slots);
      const int nm = static_cast<int>(slots.size());
      const MemberSlot* sl = slots.data();
      const bool mean = fc.pooling == Pooling::kMean;
      if (TbeLeanWalks() && TbeLeanRows(l, fc.table)) {
        pool_bags_lean(sl, nm, stride, idx, off, wts, k, k_end, f * B, mean);
        if (sl[0].stream) stream_fence();
        k = k_end;
        continue;
      }
      alignas(64) float acc[kMaxStreamDim];
      bool any_stream = false;
      // The chunk's first rows (the blocked order walks short chunks); then kPrefetch ahead.
      for (int64_t i = off[k]; i < std::min(seg_end, static_cast<int64_t>(off[k]) + kPrefetch); ++i)
        prefetch_span_read(W + static_cast<int64_t>(idx[i]) * stride, static_cast<int>(stride) * 4);
      for (int64_t kk = k; kk < k_end; ++kk) {
        const int64_t b = kk - f * B;
        const int64_t s = off[kk], e = off[kk + 1];
        auto prefetch_ahead = [&](int64_t i) {
          if (i + kPrefetch < seg_end)
            prefetch_span_read(W + static_cast<int64_t>(idx[i + kPrefetch]) * stride, static_cast<int>(stride) * 4);
        };
        any_stream |= pool_member(sl[0], idx, wts, s, e, stride, mean, b, acc, prefetch_ahead);
        // The co-located members' columns are in the rows just fetched for the host: L1 hits.
        for (int mi = 1; mi < nm; ++mi)
          any_stream |= pool_member(sl[mi], idx, wts, s, e, stride, mean, b, acc, [](int64_t) {});
      }
      if (any_stream) stream_fence();
    }
    k = k_end;
  }
}

// ---- Sample-major pooled forward -------------------------------------------------------------
// The feature-major walk writes each feature's slot of every output row in turn: a store per
// bag into a different output line, 4096 rows apart, which costs as much as the table reads
// themselves when the rows are warm (native/bench/NOTES.md, session 7). Here a thread takes a
// block of samples and, per sample, pools every feature into that sample's output rows, which
// are then written front to back; the table rows of the sample kSampleAhead ahead are
// prefetched meanwhile. Each bag is still summed alone and in index order: the results are
// bit-identical to the feature-major walk.

constexpr int64_t kSampleAhead = 2;
constexpr int64_t kBlockSamples = 256;  // samples per block of the blocked walk

struct PooledFeature {
  int64_t f;
  const float* W;  // host weights
  int64_t stride;
  int row_bytes;  // bytes of a (host) row to prefetch
  bool mean;
  bool lean_rows;    // TbeLeanRows of its table
  int first, count;  // slots [first, first + count)
};
struct SamplePlan {
  std::vector<PooledFeature> features;
  std::vector<MemberSlot> slots;
};

void make_sample_plan(const TbeLayout& l, const TbeTables& tabs, float* const* pooled, SamplePlan* plan) {
  plan->features.clear();
  plan->slots.clear();
  for (int64_t f = 0; f < static_cast<int64_t>(l.features.size()); ++f) {
    const auto& fc = l.features[f];
    if (fc.pooling == Pooling::kNone) continue;
    PooledFeature pf;
    pf.f = f;
    pf.W = tabs.weights[fc.table];
    pf.stride = l.stride[fc.table];
    pf.row_bytes = static_cast<int>(pf.stride) * 4;
    pf.mean = fc.pooling == Pooling::kMean;
    pf.lean_rows = TbeLeanRows(l, fc.table);
    pf.first = static_cast<int>(plan->slots.size());
    append_member_slots(l, tabs, pooled, f, &plan->slots);
    pf.count = static_cast<int>(plan->slots.size()) - pf.first;
    plan->features.push_back(pf);
  }
}

template <typename IdxT, typename OffT>
void forward_samples(const SamplePlan& plan, const TbeBatch& batch, int64_t sb, int64_t se) {
  const auto* idx = static_cast<const IdxT*>(batch.indices);
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const float* wts = batch.weights;
  const int64_t B = batch.batch_size;
  alignas(64) float acc[kMaxStreamDim];
  bool any_stream = false;
  auto prefetch_sample = [&](int64_t b) {
    for (const PooledFeature& pf : plan.features) {
      const int64_t k = pf.f * B + b;
      for (int64_t i = off[k], e = off[k + 1]; i < e; ++i)
        prefetch_span_read(pf.W + static_cast<int64_t>(idx[i]) * pf.stride, pf.row_bytes);
    }
  };
  for (int64_t b = sb; b < std::min(se, sb + kSampleAhead); ++b) prefetch_sample(b);
  for (int64_t b = sb; b < se; ++b) {
    if (b + kSampleAhead < se) prefetch_sample(b + kSampleAhead);
    for (const PooledFeature& pf : plan.features) {
      const int64_t k = pf.f * B + b;
      const int64_t s = off[k], e = off[k + 1];
      for (int c = 0; c < pf.count; ++c)
        any_stream |= pool_member(plan.slots[pf.first + c], idx, wts, s, e, pf.stride, pf.mean, b, acc, [](int64_t) {});
    }
  }
  if (any_stream) stream_fence();
}

// ---- Feature-major within sample blocks -------------------------------------------------------
// Samples [sb, se), one pooled feature after the other: a feature's rows come from one table
// (its translations stay warm, as in the feature-major walk), while the block's output rows
// (kBlockSamples x a few hundred floats) stay in L2 until every feature has written its
// columns, so a co-located guest's few floats per row cost no extra trip to memory. Each
// feature's bags of the block go through the feature-major walk (forward_range): bit-identical.

template <typename IdxT, typename OffT>
void forward_block(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* const* pooled,
                   const std::vector<int64_t>& seq_off, const SamplePlan& plan, int64_t sb, int64_t se) {
  const int64_t B = batch.batch_size;
  for (const PooledFeature& pf : plan.features)
    forward_range<IdxT, OffT>(l, tabs, batch, pooled, nullptr, seq_off, pf.f * B + sb, pf.f * B + se,
                              /*skip_pooled=*/false);
}

}  // namespace

bool TbeLeanWalks() { return lean_flag().load(std::memory_order_relaxed); }
void SetTbeLeanWalks(bool on) { lean_flag().store(on, std::memory_order_relaxed); }

TbeForwardOrder ForwardOrderFromEnv() {
  const char* v = std::getenv("TSREC_TBE_FORWARD_ORDER");
  if (v && std::strcmp(v, "feature") == 0) return TbeForwardOrder::kFeatureMajor;
  if (v && std::strcmp(v, "sample") == 0) return TbeForwardOrder::kSampleMajor;
  if (v && std::strcmp(v, "block") == 0) return TbeForwardOrder::kBlocked;
  return TbeForwardOrder::kAuto;
}

void TbeForwardCpu(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* const* pooled,
                   float* sequence, ThreadPool& pool, TbeForwardOrder order) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  // Reused across calls (no allocation on the hot path once warm). Bound to a plain reference:
  // inside the worker lambda the name would denote the *worker's* thread_local instance.
  thread_local std::vector<int64_t> tls_seq_off;
  std::vector<int64_t>& seq_off = tls_seq_off;
  SequenceOffsets(l, batch, &seq_off);
  thread_local SamplePlan tls_plan;
  SamplePlan& plan = tls_plan;
  make_sample_plan(l, tabs, pooled, &plan);
  const bool big = batch.num_indices >= 2048;  // small batches are not worth waking the pool for
  int64_t pooled_nnz = 0;
  const int64_t pooled_features = static_cast<int64_t>(plan.features.size());
  for (const PooledFeature& pf : plan.features) pooled_nnz += batch.offset(pf.f * B + B) - batch.offset(pf.f * B);
  if (order == TbeForwardOrder::kAuto) {
    // Every pooled feature on the lean walk: feature-major when all of them write streamed
    // whole lines of their own (one table at a time keeps its page translations warm: dlrm26
    // forward 0.64-0.82 ms vs 1.6 ms sample-major, NOTES.md session 10), else feature-major
    // within blocks of samples (co-located guests write a few floats per output row, which
    // then stay in L2 until the block's other features fill the row). Otherwise the generic
    // walks: sample-major for short bags, feature-major for long ones (multi-hot: a sample's
    // rows are then many, and the feature-major walk's fixed prefetch distance fits better).
    bool lean = TbeLeanWalks(), streamed = true;
    for (const PooledFeature& pf : plan.features) {
      const MemberSlot* sl = plan.slots.data() + pf.first;
      lean = lean && pf.lean_rows;
      streamed = streamed && pf.count == 1 && sl[0].stream;
    }
    if (lean && pooled_features > 0)
      order = streamed ? TbeForwardOrder::kFeatureMajor : TbeForwardOrder::kBlocked;
    else
      order = pooled_nnz > 4 * pooled_features * B ? TbeForwardOrder::kFeatureMajor : TbeForwardOrder::kSampleMajor;
  }
  // NONE features (sequences, feature-major output) always take the feature-major walk.
  const bool by_samples = order != TbeForwardOrder::kFeatureMajor && pooled_features > 0 && B > 0;

  auto feature_body = [&](int64_t kb, int64_t ke, int) {
    if (batch.index_type == IndexType::kInt32) {
      if (batch.offset_type == IndexType::kInt32)
        forward_range<int32_t, int32_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke, by_samples);
      else
        forward_range<int32_t, int64_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke, by_samples);
    } else {
      if (batch.offset_type == IndexType::kInt32)
        forward_range<int64_t, int32_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke, by_samples);
      else
        forward_range<int64_t, int64_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke, by_samples);
    }
  };
  // Bags (or samples) go out in chunks to whichever thread is free (each bag is computed by one
  // thread either way): a helper preempted by another process's thread no longer holds up half the batch.
  const int64_t bags = F * B;
  const int64_t seq_nnz = batch.num_indices - pooled_nnz;
  if (!by_samples || seq_nnz > 0) {
    if (!big)
      feature_body(0, bags, 0);
    else
      pool.parallel_for_dynamic(bags, std::max<int64_t>(256, bags / (8 * pool.num_threads())), feature_body);
  }
  if (!by_samples) return;
  const bool blocked = order == TbeForwardOrder::kBlocked;
  auto sample_body = [&](int64_t sb, int64_t se, int) {
    if (batch.index_type == IndexType::kInt32) {
      if (batch.offset_type == IndexType::kInt32)
        blocked ? forward_block<int32_t, int32_t>(l, tabs, batch, pooled, seq_off, plan, sb, se)
                : forward_samples<int32_t, int32_t>(plan, batch, sb, se);
      else
        blocked ? forward_block<int32_t, int64_t>(l, tabs, batch, pooled, seq_off, plan, sb, se)
                : forward_samples<int32_t, int64_t>(plan, batch, sb, se);
    } else {
      if (batch.offset_type == IndexType::kInt32)
        blocked ? forward_block<int64_t, int32_t>(l, tabs, batch, pooled, seq_off, plan, sb, se)
                : forward_samples<int64_t, int32_t>(plan, batch, sb, se);
      else
        blocked ? forward_block<int64_t, int64_t>(l, tabs, batch, pooled, seq_off, plan, sb, se)
                : forward_samples<int64_t, int64_t>(plan, batch, sb, se);
    }
  };
  if (!big)
    sample_body(0, B, 0);
  else if (blocked)
    pool.parallel_for_dynamic(B, kBlockSamples, sample_body);
  else
    pool.parallel_for_dynamic(B, std::max<int64_t>(8, B / (8 * pool.num_threads())), sample_body);
}

}  // namespace tsrec
