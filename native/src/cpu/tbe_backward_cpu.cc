// CPU fused TBE backward + optimizer ("exact" semantics).
//
//   1. bag_of[i]: the sample b of every position (no division later)  (parallel over bags)
//   2. per table: keys (row << 32 | position), stable radix sort by row (parallel over tables)
//   3. the sorted slots are cut into one slice per thread at run boundaries; each thread walks
//      its runs (a run = one unique row of one table), sums the row gradient in position order,
//      then applies the optimizer rule. Each row belongs to one run, so there are no races and
//      the result does not depend on the number of threads. Tables with lean rows read only by
//      pooled features take a lean walk (walk_table_lean), the others the generic one; same bits.
#include <algorithm>
#include <cstring>

#include "tsrec/prefetch.h"
#include "tsrec/tbe_cpu.h"

namespace tsrec {

namespace {

constexpr int64_t kPrefetchSlots = 16;  // sorted slots ahead; see native/bench/NOTES.md

int bits_for(int64_t rows) {
  int b = 0;
  while (b < 32 && (int64_t{1} << b) < rows) ++b;
  return b;
}

// Stable LSD radix sort of keys[0..n) on bits [32, 32 + key_bits); the low 32 bits (positions)
// arrive in increasing order and stay so, which makes the sort deterministic.
void radix_sort_by_row(uint64_t* keys, uint64_t* tmp, int64_t n, int key_bits) {
  if (n < 256) {
    std::sort(keys, keys + n);  // (row, position) order == stable order
    return;
  }
  uint64_t* src = keys;
  uint64_t* dst = tmp;
  for (int shift = 32; shift < 32 + key_bits; shift += 8) {
    int64_t count[257] = {0};
    for (int64_t i = 0; i < n; ++i) ++count[((src[i] >> shift) & 0xff) + 1];
    for (int i = 0; i < 256; ++i) count[i + 1] += count[i];
    for (int64_t i = 0; i < n; ++i) dst[count[(src[i] >> shift) & 0xff]++] = src[i];
    std::swap(src, dst);
  }
  if (src != keys) std::memcpy(keys, src, sizeof(uint64_t) * n);
}

template <typename OffT>
void fill_bag_of(const TbeBatch& batch, int64_t F, int32_t* bag_of, ThreadPool& pool) {
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const int64_t B = batch.batch_size;
  const int64_t bags = F * B;
  pool.parallel_for_dynamic(bags, std::max<int64_t>(1024, bags / (4 * pool.num_threads())),
                            [&](int64_t kb, int64_t ke, int) {
                              int64_t b = kb % B;  // one division per chunk; b walks with k
                              for (int64_t k = kb; k < ke; ++k) {
                                for (int64_t i = off[k]; i < off[k + 1]; ++i) bag_of[i] = static_cast<int32_t>(b);
                                if (++b == B) b = 0;
                              }
                            });
}

// The feature a position belongs to, among the features reading table t (usually exactly one).
template <typename OffT>
inline int64_t feature_of(const TbeLayout& l, const OffT* off, int64_t B, int t, int64_t i) {
  const auto& fs = l.table_features[t];
  if (fs.size() == 1) return fs[0];
  for (int32_t f : fs)
    if (i >= static_cast<int64_t>(off[f * B]) && i < static_cast<int64_t>(off[f * B + B])) return f;
  return fs.back();
}

template <typename IdxT>
void build_keys(const TbeLayout& l, const TbeBatch& batch, TbeBackwardWorkspace& ws, ThreadPool& pool) {
  const auto* idx = static_cast<const IdxT*>(batch.indices);
  const int64_t T = static_cast<int64_t>(l.tables.size()), B = batch.batch_size;
  ws.table_begin.assign(T + 1, 0);
  for (int64_t t = 0; t < T; ++t) {
    int64_t n = 0;
    for (int32_t f : l.table_features[t]) n += batch.offset(f * B + B) - batch.offset(f * B);
    ws.table_begin[t + 1] = ws.table_begin[t] + n;
  }
  pool.parallel_for_dynamic(T, 1, [&](int64_t tb, int64_t te, int) {
    for (int64_t t = tb; t < te; ++t) {
      uint64_t* k = ws.keys.data() + ws.table_begin[t];
      int64_t n = 0;
      for (int32_t f : l.table_features[t]) {
        for (int64_t i = batch.offset(f * B), e = batch.offset(f * B + B); i < e; ++i)
          k[n++] = (static_cast<uint64_t>(idx[i]) << 32) | static_cast<uint64_t>(i);
      }
      radix_sort_by_row(k, ws.keys_tmp.data() + ws.table_begin[t], n, bits_for(l.tables[t].rows));
    }
  });
}

// Sum of f(x[d]) over a row in a fixed order that vectorises: 16 lane partials, then a fixed
// pairwise combination. Deterministic (the order never depends on threads), not sequential.
template <typename F>
inline float lane_sum(const float* x, int dim, F f) {
  float acc[16] = {0};
  int d = 0;
  for (; d + 16 <= dim; d += 16)
    for (int l = 0; l < 16; ++l) acc[l] += f(x[d + l]);
  for (int l = 0; d < dim && l < 16; ++d, ++l) acc[l] += f(x[d]);  // dim % 16 values
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// The optimizer step of one row from its summed gradient g (overwritten): L2 decay folded into
// g, the rule's row reduction and per-row context, the element updates with decoupled decay,
// then max_norm. Shared by the generic walk (runtime dim) and the lean one (D > 0: the same
// code with the width known at compile time), so both give the same bits.
template <typename Rule, int D = 0>
inline void update_row(const OptimStep& ps, float* w, float* s0, float* s1, float* row_state, float* g,
                       int runtime_dim) {
  const int dim = D > 0 ? D : runtime_dim;
  for (int d = 0; d < dim; ++d) g[d] = decayed_grad(ps, g[d], w[d]);
  const float sum = Rule::kRowReduce ? lane_sum(g, dim, [](float v) { return Rule::row_term(v); }) : 0.0f;
  const RowCtx ctx = Rule::precompute(ps, row_state, sum);
  for (int d = 0; d < dim; ++d) {
    const float w_old = w[d];
    w[d] =
        Rule::update(ps, ctx, w_old, g[d], s0 ? s0 + d : nullptr, s1 ? s1 + d : nullptr) - decoupled_decay(ps, w_old);
  }
  if (ps.max_norm > 0.0f) {
    const float norm_scale = max_norm_scale(ps, lane_sum(w, dim, [](float v) { return v * v; }));
    if (norm_scale != 1.0f)
      for (int d = 0; d < dim; ++d) w[d] *= norm_scale;
  }
}

// True when slot j of the sorted keys starts a run of equal rows (runs never cross tables).
inline bool run_starts_at(const TbeBackwardWorkspace& ws, int64_t j) {
  if (j == 0) return true;
  if ((ws.keys[j] >> 32) != (ws.keys[j - 1] >> 32)) return true;
  auto it = std::upper_bound(ws.table_begin.begin(), ws.table_begin.end(), j - 1);
  return *it == j;  // slot j is the first of the next table
}

// Lean walk of one table's sorted slots [jb, je) (run boundaries) for the common cases: pooled
// features (usually one, at most kMaxLeanFeatures) read the table, whose rows hold only it
// (DG == 0) or it and one co-located table of dim DG (DeepFM's deep and wide tables), dims the
// compiler unrolls. The generic walk
// spends ~100 instructions a slot on bookkeeping (feature lookup, member loop, a memset call)
// and its prefetch of each slot does the same again; that bounded how many row misses were in
// flight. Same arithmetic, same order per member as the generic walk: bit-identical.
template <int D>
struct LeanMember {
  float* W;   // weights of row 0 (rows `stride` floats apart)
  float* S0;  // element states (rows D apart) or null
  float* S1;
  float* RS;  // row state or null
  int64_t P;  // columns of the member's output (dL/dpooled samples P apart)

  LeanMember(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, int m) {
    const int n_states = elem_states(oc.type);
    W = tabs.weights[m];
    S0 = n_states > 0 ? tabs.state[m][0] : nullptr;
    S1 = n_states > 1 ? tabs.state[m][1] : nullptr;
    RS = has_row_state(oc.type) ? tabs.state[m][0] : nullptr;
    P = l.pooled_dims[l.tables[m].output];
  }
  void prefetch_state(int64_t row) const {
    if (RS) prefetch_write(RS + row);
    if (S0) prefetch_span_write(S0 + row * D, D * 4);
    if (S1) prefetch_span_write(S1 + row * D, D * 4);
  }
  template <typename Rule>
  void update(const OptimStep& ps, int64_t row, int64_t stride, float* g) const {
    update_row<Rule, D>(ps, W + row * stride, S0 ? S0 + row * D : nullptr, S1 ? S1 + row * D : nullptr,
                        RS ? RS + row : nullptr, g, D);
  }
};

constexpr int kMaxLeanFeatures = 8;

/** A pooled feature reading a lean table: its positions and its columns of dL/dpooled. */
struct LeanFeature {
  int64_t begin, end;  // positions [begin, end)
  int64_t fB;          // f * B: its bags' first offset index
  const float* G;      // host columns of sample 0
  const float* GG;     // guest columns of sample 0 (DG > 0)
  bool mean;
};

template <typename Rule, int D, int DG, bool kPlain, typename OffT>
void walk_table_lean(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& p,
                     const TbeBatch& batch, const float* const* grad_pooled, const TbeBackwardWorkspace& ws, int t,
                     int64_t jb, int64_t je) {
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const float* wts = batch.weights;
  const int64_t B = batch.batch_size;
  const float clip = oc.max_gradient;
  const int64_t stride = l.stride[t];  // D + DG
  const int g = DG == 0 ? t : l.members[t][DG == 0 ? 0 : 1];
  const LeanMember<D> host(l, tabs, oc, t);
  const LeanMember<DG == 0 ? 4 : DG> guest(l, tabs, oc, g);
  const auto& fs = l.table_features[t];
  const int nf = static_cast<int>(fs.size());
  LeanFeature lf[kMaxLeanFeatures];
  for (int k = 0; k < nf; ++k) {
    const int64_t f = fs[k];
    lf[k].begin = static_cast<int64_t>(off[f * B]);
    lf[k].end = static_cast<int64_t>(off[f * B + B]);
    lf[k].fB = f * B;
    lf[k].G = grad_pooled[l.tables[t].output] + l.member_col[f][0];
    lf[k].GG = DG > 0 ? grad_pooled[l.tables[g].output] + l.member_col[f][1] : nullptr;
    lf[k].mean = l.features[f].pooling == Pooling::kMean;
  }
  // The feature of position i (as the generic walk's feature_of: the last one if none matches).
  auto feature_at = [&](int64_t i) -> const LeanFeature& {
    for (int k = 0; k + 1 < nf; ++k)
      if (i >= lf[k].begin && i < lf[k].end) return lf[k];
    return lf[nf - 1];
  };
  const uint64_t* keys = ws.keys.data();
  const int32_t* bag_of = ws.bag_of.data();
  auto prefetch_slot = [&](int64_t q) {
    const int64_t row = static_cast<int64_t>(keys[q] >> 32);
    const int64_t i = static_cast<int64_t>(keys[q] & 0xffffffffu);
    const int64_t b = bag_of[i];
    const LeanFeature& fe = feature_at(i);
    prefetch_span_write(host.W + row * stride, static_cast<int>(stride) * 4);
    host.prefetch_state(row);
    prefetch_span_read(fe.G + b * host.P, D * 4);
    if (DG > 0) {
      guest.prefetch_state(row);
      prefetch_span_read(fe.GG + b * guest.P, DG * 4);
    }
  };
  OptimStep ps = p;
  OptimStep psg = p;
  ps.inv_dim = 1.0f / static_cast<float>(D);
  psg.inv_dim = 1.0f / static_cast<float>(DG == 0 ? 1 : DG);
  int64_t pf = jb;
  for (int64_t j = jb; j < je;) {
    const uint64_t row_key = keys[j] >> 32;
    const int64_t row = static_cast<int64_t>(row_key);
    int64_t jend = j + 1;
    while (jend < je && (keys[jend] >> 32) == row_key) ++jend;
    for (const int64_t pf_end = std::min<int64_t>(je, jend + kPrefetchSlots); pf < pf_end; ++pf) prefetch_slot(pf);
    alignas(64) float g[D];
    alignas(64) float gg[DG == 0 ? 4 : DG];
    for (int d = 0; d < D; ++d) g[d] = 0.0f;
    for (int d = 0; d < DG; ++d) gg[d] = 0.0f;
    for (int64_t q = j; q < jend; ++q) {
      const int64_t i = static_cast<int64_t>(keys[q] & 0xffffffffu);
      const int64_t b = bag_of[i];
      const LeanFeature& fe = feature_at(i);
      const float* src = fe.G + b * host.P;
      const float* srcg = DG > 0 ? fe.GG + b * guest.P : nullptr;
      if (kPlain) {  // == the generic walk's scale 1, no clip
        for (int d = 0; d < D; ++d) g[d] += 1.0f * src[d];
        for (int d = 0; d < DG; ++d) gg[d] += 1.0f * srcg[d];
      } else {
        float scale = wts ? wts[i] : 1.0f;
        if (fe.mean) scale /= static_cast<float>(off[fe.fB + b + 1] - off[fe.fB + b]);
        for (int d = 0; d < D; ++d) g[d] += scale * clip_grad(src[d], clip);
        for (int d = 0; d < DG; ++d) gg[d] += scale * clip_grad(srcg[d], clip);
      }
    }
    host.template update<Rule>(ps, row, stride, g);
    if (DG > 0) guest.template update<Rule>(psg, row, stride, gg);
    j = jend;
  }
}

/** Whether table t's runs can take walk_table_lean: lean rows, read by 1-kMaxLeanFeatures features, all pooled. */
bool lean_table(const TbeLayout& l, int t) {
  const auto& fs = l.table_features[t];
  if (fs.empty() || fs.size() > static_cast<size_t>(kMaxLeanFeatures)) return false;
  for (int32_t f : fs)
    if (l.features[f].pooling == Pooling::kNone) return false;
  return TbeLeanRows(l, t);
}

/** walk_table_lean for table t's dims (lean_table(l, t) holds). */
template <typename Rule, typename OffT>
void walk_table_lean_any(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& p,
                         const TbeBatch& batch, const float* const* grad_pooled, const TbeBackwardWorkspace& ws, int t,
                         int64_t jb, int64_t je) {
  bool plain = !batch.weights && oc.max_gradient <= 0.0f;
  for (int32_t f : l.table_features[t]) plain = plain && l.features[f].pooling == Pooling::kSum;
  const bool guest = l.members[t].size() == 2;
  DispatchLeanDim(l.tables[t].dim, [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    if (guest) {
      if (plain)
        walk_table_lean<Rule, D, 4, true, OffT>(l, tabs, oc, p, batch, grad_pooled, ws, t, jb, je);
      else
        walk_table_lean<Rule, D, 4, false, OffT>(l, tabs, oc, p, batch, grad_pooled, ws, t, jb, je);
    } else {
      if (plain)
        walk_table_lean<Rule, D, 0, true, OffT>(l, tabs, oc, p, batch, grad_pooled, ws, t, jb, je);
      else
        walk_table_lean<Rule, D, 0, false, OffT>(l, tabs, oc, p, batch, grad_pooled, ws, t, jb, je);
    }
  });
}

/** What one backward call's walks read: the layout, tables, optimizer, batch, gradients and workspace. */
template <typename OffT>
struct BackwardPass {
  const TbeLayout& l;
  const TbeTables& tabs;
  const OptimizerConfig& oc;
  const OptimStep& p;
  const TbeBatch& batch;
  const float* const* grad_pooled;
  const float* grad_seq;
  TbeBackwardWorkspace& ws;
  const OffT* off = static_cast<const OffT*>(batch.offsets);
  int n_states = elem_states(oc.type);
  bool row_state_used = has_row_state(oc.type);
};

// Slot q's row is random: prefetch its (host) row, every member's optimizer state and gradient
// row ahead of use.
template <typename OffT>
inline void prefetch_generic_slot(const BackwardPass<OffT>& c, int64_t q, int t) {
  const TbeLayout& l = c.l;
  const int64_t row = static_cast<int64_t>(c.ws.keys[q] >> 32);
  const int64_t i = static_cast<int64_t>(c.ws.keys[q] & 0xffffffffu);
  const int64_t stride = l.stride[t];
  prefetch_span_write(c.tabs.weights[t] + row * stride, static_cast<int>(stride) * 4);
  const int64_t f = feature_of(l, c.off, c.batch.batch_size, t, i);
  const bool pooled = l.features[f].pooling != Pooling::kNone;
  const auto& members = l.members[t];
  for (size_t mi = 0; mi < members.size(); ++mi) {
    const int32_t m = members[mi];
    const int dim = l.tables[m].dim;
    for (int k = 0; k < c.n_states; ++k) prefetch_span_write(c.tabs.state[m][k] + row * dim, dim * 4);
    if (c.row_state_used) prefetch_write(c.tabs.state[m][0] + row);
    if (pooled) {
      const int o = l.tables[m].output;
      prefetch_span_read(
          c.grad_pooled[o] + static_cast<int64_t>(c.ws.bag_of[i]) * l.pooled_dims[o] + l.member_col[f][mi], dim * 4);
    }
  }
}

// g = the summed gradient of member mi of table t's row over the run's slots [j, jend), in
// position order: each position's dL/dpooled columns (or dL/dsequence row), clipped, times its
// per-sample weight and, for MEAN, 1 / bag length.
template <typename OffT>
inline void sum_run_gradient(const BackwardPass<OffT>& c, int t, size_t mi, int64_t j, int64_t jend, float* g) {
  const TbeLayout& l = c.l;
  const int64_t B = c.batch.batch_size;
  const float* wts = c.batch.weights;
  const float clip = c.oc.max_gradient;
  const int32_t m = l.members[t][mi];
  const int dim = l.tables[m].dim;
  const int o = l.tables[m].output;
  const int64_t P = l.pooled_dims[o];
  std::memset(g, 0, sizeof(float) * dim);
  for (int64_t q = j; q < jend; ++q) {
    const int64_t i = static_cast<int64_t>(c.ws.keys[q] & 0xffffffffu);
    const int64_t b = c.ws.bag_of[i];
    const int64_t f = feature_of(l, c.off, B, t, i);
    const auto& fc = l.features[f];
    float scale = wts ? wts[i] : 1.0f;
    const float* src;
    if (fc.pooling == Pooling::kNone) {
      src = c.grad_seq + c.ws.seq_offsets[f] + (i - static_cast<int64_t>(c.off[f * B])) * dim;
    } else {
      src = c.grad_pooled[o] + b * P + l.member_col[f][mi];
      if (fc.pooling == Pooling::kMean) scale /= static_cast<float>(c.off[f * B + b + 1] - c.off[f * B + b]);
    }
    for (int d = 0; d < dim; ++d) g[d] += scale * clip_grad(src[d], clip);
  }
}

// The optimizer step of member m's `row` (its weights `stride` floats apart) from its summed gradient g.
template <typename Rule, typename OffT>
inline void update_member_row(const BackwardPass<OffT>& c, int32_t m, int64_t row, int64_t stride, float* g) {
  const int dim = c.l.tables[m].dim;
  OptimStep ps = c.p;
  ps.inv_dim = 1.0f / static_cast<float>(dim);
  update_row<Rule>(ps, c.tabs.weights[m] + row * stride, c.n_states > 0 ? c.tabs.state[m][0] + row * dim : nullptr,
                   c.n_states > 1 ? c.tabs.state[m][1] + row * dim : nullptr,
                   c.row_state_used ? c.tabs.state[m][0] + row : nullptr, g, dim);
}

// The generic walk of slots [jb, je), which start and end on run boundaries; each run (one unique
// row of one table and so of its co-located members) is summed in position order and updated
// once, by exactly one thread (tid: whose gradient scratch).
template <typename Rule, typename OffT>
void walk_generic(const BackwardPass<OffT>& c, int64_t jb, int64_t je, int tid) {
  if (jb >= je) return;
  const std::vector<int64_t>& tb = c.ws.table_begin;
  float* g = c.ws.scratch[tid].data();
  int t = static_cast<int>(std::upper_bound(tb.begin(), tb.end(), jb) - tb.begin()) - 1;
  int pt = t;       // table of the prefetch cursor
  int64_t pf = jb;  // next slot to prefetch
  for (int64_t j = jb; j < je;) {
    while (j >= tb[t + 1]) ++t;
    const uint64_t row_key = c.ws.keys[j] >> 32;
    const int64_t row = static_cast<int64_t>(row_key);
    const int64_t tend = std::min<int64_t>(je, tb[t + 1]);
    int64_t jend = j + 1;
    while (jend < tend && (c.ws.keys[jend] >> 32) == row_key) ++jend;
    for (const int64_t pf_end = std::min<int64_t>(je, jend + kPrefetchSlots); pf < pf_end; ++pf) {
      while (pf >= tb[pt + 1]) ++pt;
      prefetch_generic_slot(c, pf, pt);
    }
    const auto& members = c.l.members[t];
    for (size_t mi = 0; mi < members.size(); ++mi) {
      sum_run_gradient(c, t, mi, j, jend, g);
      update_member_row<Rule>(c, members[mi], row, c.l.stride[t], g);
    }
    j = jend;
  }
}

// Slots [jb, je) (run boundaries): table segments that can take the lean walk do; the rest take
// the generic one.
template <typename Rule, typename OffT>
void walk_range(const BackwardPass<OffT>& c, bool lean, int64_t jb, int64_t je, int tid) {
  if (!lean) return walk_generic<Rule>(c, jb, je, tid);
  const std::vector<int64_t>& tb = c.ws.table_begin;
  int64_t j = jb;
  int t = static_cast<int>(std::upper_bound(tb.begin(), tb.end(), jb) - tb.begin()) - 1;
  while (j < je) {
    while (j >= tb[t + 1]) ++t;
    // Consecutive tables for the same walk are gathered into one generic call.
    int64_t e = std::min<int64_t>(je, tb[t + 1]);
    if (lean_table(c.l, t)) {
      walk_table_lean_any<Rule, OffT>(c.l, c.tabs, c.oc, c.p, c.batch, c.grad_pooled, c.ws, t, j, e);
    } else {
      int u = t;
      while (e < je && !lean_table(c.l, u + 1)) e = std::min<int64_t>(je, tb[++u + 1]);
      walk_generic<Rule>(c, j, e, tid);
    }
    j = e;
  }
}

// ws.slice_begin[0..ns] = equal slices of the nnz sorted slots, each start moved forward to the
// next run start, so a row never splits across slices.
void cut_slices_at_runs(TbeBackwardWorkspace& ws, int64_t nnz, int ns) {
  ws.slice_begin.assign(ns + 1, nnz);
  for (int s = 0; s < ns; ++s) {
    // Starts only increase: resume from the previous one, so a long run is scanned once.
    int64_t j = std::max(nnz * s / ns, s > 0 ? ws.slice_begin[s - 1] : int64_t{0});
    while (j < nnz && !run_starts_at(ws, j)) ++j;
    ws.slice_begin[s] = j;
  }
}

// Sums every run's gradient and applies the optimizer rule to its row: one walk over all sorted
// slots for small batches, else slices handed out to whichever thread is free (each run is
// still updated by one thread in slot order, so the bits do not depend on the thread count).
template <typename Rule, typename OffT>
void update_rows(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& p,
                 const TbeBatch& batch, const float* const* grad_pooled, const float* grad_seq,
                 TbeBackwardWorkspace& ws, ThreadPool& pool) {
  const BackwardPass<OffT> c{l, tabs, oc, p, batch, grad_pooled, grad_seq, ws};
  const bool lean = TbeLeanWalks();
  const int64_t nnz = batch.num_indices;
  const int nt = nnz < 512 ? 1 : pool.num_threads();
  if (nt == 1) {
    walk_range<Rule>(c, lean, 0, nnz, 0);
    return;
  }
  const int ns = 8 * nt;
  cut_slices_at_runs(ws, nnz, ns);
  pool.parallel_for_dynamic(ns, 1, [&](int64_t sb, int64_t se, int tid) {
    for (int64_t s = sb; s < se; ++s)
      walk_range<Rule>(c, lean, ws.slice_begin[s], std::max(ws.slice_begin[s], ws.slice_begin[s + 1]), tid);
  });
}

}  // namespace

void TbeBackwardCpu(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& step,
                    const TbeBatch& batch, const float* const* grad_pooled_in, const float* grad_sequence,
                    TbeBackwardWorkspace& ws, ThreadPool& pool) {
  const int64_t F = static_cast<int64_t>(l.features.size());
  const int64_t nnz = batch.num_indices;
  if (nnz == 0) return;
  // Workspaces grow to the largest batch seen and are then reused.
  if (static_cast<int64_t>(ws.keys.size()) < nnz) {
    ws.keys.resize(nnz);
    ws.keys_tmp.resize(nnz);
    ws.bag_of.resize(nnz);
  }
  int max_dim = 0;
  for (const auto& t : l.tables) max_dim = std::max(max_dim, t.dim);
  if (static_cast<int>(ws.scratch.size()) < pool.num_threads()) ws.scratch.resize(pool.num_threads());
  for (auto& s : ws.scratch)
    if (static_cast<int>(s.size()) < max_dim) s.resize(max_dim);
  SequenceOffsets(l, batch, &ws.seq_offsets);

  // The gradient usually arrives in JS memory (4 KiB pages) and is read in row order, i.e. at
  // random samples: copy it into huge-page scratch first so those reads hit the TLB (NOTES.md),
  // unless it already lies in huge pages (the tsrec backend's large outputs do).
  const int n_out = l.num_outputs();
  const float* grad_pooled[kMaxPooledOutputs];
  if (ws.grad_copy.size() < static_cast<size_t>(n_out)) ws.grad_copy.resize(n_out);
  for (int o = 0; o < n_out; ++o) {
    grad_pooled[o] = grad_pooled_in ? grad_pooled_in[o] : nullptr;
    const int64_t grad_n = batch.batch_size * l.pooled_dims[o];
    if (grad_pooled[o] && grad_n * 4 >= (int64_t{1} << 21) &&
        !HostBuffer::InHugePages(grad_pooled[o], sizeof(float) * grad_n)) {
      auto& copy = ws.grad_copy[o];
      if (!copy || copy->size() < grad_n) copy = HostBuffer::Allocate(grad_n);
      if (copy) {
        float* dst = copy->data();
        const float* src = grad_pooled[o];
        pool.parallel_for(grad_n,
                          [&](int64_t b, int64_t e, int) { std::memcpy(dst + b, src + b, sizeof(float) * (e - b)); });
        grad_pooled[o] = dst;
      }
    }
  }
  if (batch.offset_type == IndexType::kInt32)
    fill_bag_of<int32_t>(batch, F, ws.bag_of.data(), pool);
  else
    fill_bag_of<int64_t>(batch, F, ws.bag_of.data(), pool);
  if (batch.index_type == IndexType::kInt32)
    build_keys<int32_t>(l, batch, ws, pool);
  else
    build_keys<int64_t>(l, batch, ws, pool);

  dispatch_rule(oc.type, [&](auto rule) {
    using Rule = decltype(rule);
    if (batch.offset_type == IndexType::kInt32)
      update_rows<Rule, int32_t>(l, tabs, oc, step, batch, grad_pooled, grad_sequence, ws, pool);
    else
      update_rows<Rule, int64_t>(l, tabs, oc, step, batch, grad_pooled, grad_sequence, ws, pool);
    return 0;
  });
}

}  // namespace tsrec
