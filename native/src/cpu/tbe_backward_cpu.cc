// CPU fused TBE backward + optimizer ("exact" semantics).
//
//   1. bag_of[i]: the flat bag (f*B + b) of every position            (parallel over features)
//   2. per table: keys (row << 32 | position), stable radix sort by row (parallel over tables)
//   3. segments: runs of equal rows                                    (serial, cheap)
//   4. per segment: segment-sum the row gradient in position order, then the optimizer rule
//      (parallel over segments; each row is owned by one segment, so no races and the result
//      does not depend on the number of threads)
#include <algorithm>
#include <cstring>

#include "tsrec/prefetch.h"
#include "tsrec/tbe_cpu.h"

namespace tsrec {

namespace {

constexpr int64_t kPrefetchSegments = 8;

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
  pool.parallel_for(F * B, [&](int64_t kb, int64_t ke, int) {
    for (int64_t k = kb; k < ke; ++k)
      for (int64_t i = off[k]; i < off[k + 1]; ++i) bag_of[i] = static_cast<int32_t>(k);
  });
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
  pool.run([&](int tid, int nt) {
    for (int64_t t = tid; t < T; t += nt) {
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

template <typename Rule, typename OffT>
void update_segments(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& p, const TbeBatch& batch,
                     const float* grad_pooled, const float* grad_seq, TbeBackwardWorkspace& ws, ThreadPool& pool) {
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const float* wts = batch.weights;
  const int64_t B = batch.batch_size, P = l.pooled_dim;
  const float clip = oc.max_gradient;
  const int n_states = elem_states(oc.type);
  const bool row_state_used = has_row_state(oc.type);
  // Each segment is a random row: prefetch its weights and state a few segments ahead.
  auto prefetch = [&](int64_t s) {
    const auto& seg = ws.segments[s];
    const int dim = l.tables[seg.table].dim;
    const int64_t row = static_cast<int64_t>(ws.keys[seg.begin] >> 32);
    prefetch_span_write(tabs.weights[seg.table] + row * dim, dim * 4);
    for (int k = 0; k < n_states; ++k) prefetch_span_write(tabs.state[seg.table][k] + row * dim, dim * 4);
    if (row_state_used) prefetch_write(tabs.state[seg.table][0] + row);
    // The gradient rows this segment will sum (random samples: a miss each without this).
    const uint32_t last = std::min<uint32_t>(seg.end, seg.begin + 4);
    for (uint32_t j = seg.begin; j < last; ++j) {
      const int64_t i = static_cast<int64_t>(ws.keys[j] & 0xffffffffu);
      const int64_t k = ws.bag_of[i];
      const int64_t f = k / B;
      if (l.features[f].pooling == Pooling::kNone) continue;
      prefetch_span_read(grad_pooled + (k - f * B) * P + l.pooled_col[f], dim * 4);
    }
  };
  auto body = [&](int64_t sb, int64_t se, int tid) {
    float* g = ws.scratch[tid].data();
    for (int64_t s = sb; s < std::min(se, sb + kPrefetchSegments); ++s) prefetch(s);
    for (int64_t s = sb; s < se; ++s) {
      if (s + kPrefetchSegments < se) prefetch(s + kPrefetchSegments);
      const auto& seg = ws.segments[s];
      const int t = seg.table;
      const int dim = l.tables[t].dim;
      const int64_t row = static_cast<int64_t>(ws.keys[seg.begin] >> 32);
      std::memset(g, 0, sizeof(float) * dim);
      for (uint32_t j = seg.begin; j < seg.end; ++j) {
        const int64_t i = static_cast<int64_t>(ws.keys[j] & 0xffffffffu);
        const int64_t k = ws.bag_of[i];
        const int64_t f = k / B, b = k - f * B;
        const auto& fc = l.features[f];
        float scale = wts ? wts[i] : 1.0f;
        const float* src;
        if (fc.pooling == Pooling::kNone) {
          src = grad_seq + ws.seq_offsets[f] + (i - static_cast<int64_t>(off[f * B])) * dim;
        } else {
          src = grad_pooled + b * P + l.pooled_col[f];
          if (fc.pooling == Pooling::kMean) scale /= static_cast<float>(off[k + 1] - off[k]);
        }
        for (int d = 0; d < dim; ++d) g[d] += scale * clip_grad(src[d], clip);
      }
      OptimStep ps = p;
      ps.inv_dim = 1.0f / static_cast<float>(dim);
      float* w = tabs.weights[t] + row * dim;
      float* s0 = n_states > 0 ? tabs.state[t][0] + row * dim : nullptr;
      float* s1 = n_states > 1 ? tabs.state[t][1] + row * dim : nullptr;
      float* row_state = has_row_state(oc.type) ? tabs.state[t][0] + row : nullptr;
      float sum = 0.0f;
      for (int d = 0; d < dim; ++d) {
        g[d] = decayed_grad(ps, g[d], w[d]);
        if (Rule::kRowReduce) sum += Rule::row_term(g[d]);
      }
      const RowCtx ctx = Rule::precompute(ps, row_state, sum);
      float sq = 0.0f;
      for (int d = 0; d < dim; ++d) {
        const float w_old = w[d];
        const float wn = Rule::update(ps, ctx, w_old, g[d], s0 ? s0 + d : nullptr, s1 ? s1 + d : nullptr) - decoupled_decay(ps, w_old);
        w[d] = wn;
        sq += wn * wn;
      }
      const float scale = max_norm_scale(ps, sq);
      if (scale != 1.0f)
        for (int d = 0; d < dim; ++d) w[d] *= scale;
    }
  };
  const int64_t n = static_cast<int64_t>(ws.segments.size());
  if (n < 512) body(0, n, 0);
  else pool.parallel_for(n, body);
}

}  // namespace

void TbeBackwardCpu(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& step, const TbeBatch& batch,
                    const float* grad_pooled, const float* grad_sequence, TbeBackwardWorkspace& ws, ThreadPool& pool) {
  const int64_t F = static_cast<int64_t>(l.features.size());
  const int64_t T = static_cast<int64_t>(l.tables.size());
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

  // The gradient arrives in JS memory (4 KiB pages) and is read in row order, i.e. at random
  // samples: copy it into huge-page scratch first so those reads hit the TLB (NOTES.md).
  const int64_t grad_n = batch.batch_size * l.pooled_dim;
  if (grad_pooled && grad_n * 4 >= (int64_t{1} << 21)) {
    if (!ws.grad_copy || ws.grad_copy->size() < grad_n) ws.grad_copy = HostBuffer::Allocate(grad_n);
    if (ws.grad_copy) {
      float* dst = ws.grad_copy->data();
      pool.parallel_for(grad_n, [&](int64_t b, int64_t e, int) { std::memcpy(dst + b, grad_pooled + b, sizeof(float) * (e - b)); });
      grad_pooled = dst;
    }
  }
  if (batch.offset_type == IndexType::kInt32) fill_bag_of<int32_t>(batch, F, ws.bag_of.data(), pool);
  else fill_bag_of<int64_t>(batch, F, ws.bag_of.data(), pool);
  if (batch.index_type == IndexType::kInt32) build_keys<int32_t>(l, batch, ws, pool);
  else build_keys<int64_t>(l, batch, ws, pool);

  ws.segments.clear();
  for (int64_t t = 0; t < T; ++t) {
    const int64_t b = ws.table_begin[t], e = ws.table_begin[t + 1];
    int64_t s = b;
    for (int64_t j = b + 1; j <= e; ++j) {
      if (j == e || (ws.keys[j] >> 32) != (ws.keys[s] >> 32)) {
        ws.segments.push_back({static_cast<int32_t>(t), static_cast<uint32_t>(s), static_cast<uint32_t>(j)});
        s = j;
      }
    }
  }
  dispatch_rule(oc.type, [&](auto rule) {
    using Rule = decltype(rule);
    if (batch.offset_type == IndexType::kInt32)
      update_segments<Rule, int32_t>(l, tabs, oc, step, batch, grad_pooled, grad_sequence, ws, pool);
    else
      update_segments<Rule, int64_t>(l, tabs, oc, step, batch, grad_pooled, grad_sequence, ws, pool);
    return 0;
  });
}

}  // namespace tsrec
