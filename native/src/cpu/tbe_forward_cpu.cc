// CPU TBE forward: bags split statically across the pool, rows gathered with software
// prefetch a fixed distance ahead, inner loops specialised for the common dims so the
// compiler keeps a whole row in vector registers; pooled rows streamed out with non-temporal
// stores when the output is 64-byte aligned (see alignedFloat32Array in @tsrec/native).
#include <algorithm>
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
    case 4: return accum_fixed<4>(out, row, w);
    case 8: return accum_fixed<8>(out, row, w);
    case 16: return accum_fixed<16>(out, row, w);
    case 32: return accum_fixed<32>(out, row, w);
    case 64: return accum_fixed<64>(out, row, w);
    case 128: return accum_fixed<128>(out, row, w);
    default: return accum_any(out, row, w, dim);
  }
}

inline void prefetch_row(const float* row, int dim) { prefetch_span_read(row, dim * 4); }

template <typename IdxT, typename OffT>
void forward_range(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* pooled, float* sequence,
                   const std::vector<int64_t>& seq_off, int64_t kb, int64_t ke) {
  const auto* idx = static_cast<const IdxT*>(batch.indices);
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const float* wts = batch.weights;
  const int64_t B = batch.batch_size;
  const int64_t P = l.pooled_dim;
  for (int64_t k = kb; k < ke;) {
    const int64_t f = k / B;
    const int64_t k_end = std::min(ke, (f + 1) * B);  // bags of this feature in range
    const auto& fc = l.features[f];
    const int dim = l.tables[fc.table].dim;
    const float* W = tabs.weights[fc.table];
    const int64_t seg_end = off[k_end];
    if (fc.pooling == Pooling::kNone) {
      float* out = sequence + seq_off[f];
      const int64_t base = off[f * B];
      for (int64_t i = off[k]; i < seg_end; ++i) {
        if (i + kPrefetch < seg_end) prefetch_row(W + static_cast<int64_t>(idx[i + kPrefetch]) * dim, dim);
        const float* row = W + static_cast<int64_t>(idx[i]) * dim;
        float* o = out + (i - base) * dim;
        const float w = wts ? wts[i] : 1.0f;
        for (int d = 0; d < dim; ++d) o[d] = w * row[d];
      }
    } else {
      const int64_t col = l.pooled_col[f];
      const bool mean = fc.pooling == Pooling::kMean;
      // Whole-line slots of a 64-byte aligned output are accumulated in registers/L1 and then
      // streamed out (no read-for-ownership); otherwise accumulate in place.
      constexpr int kMaxStreamDim = 512;
      const bool stream = dim <= kMaxStreamDim && (P * 4) % 64 == 0 && can_stream(pooled + col, dim);
      alignas(64) float acc[kMaxStreamDim];
      for (int64_t kk = k; kk < k_end; ++kk) {
        const int64_t b = kk - f * B;
        float* o = pooled + b * P + col;
        float* a = stream ? acc : o;
        std::memset(a, 0, sizeof(float) * dim);
        const int64_t s = off[kk], e = off[kk + 1];
        for (int64_t i = s; i < e; ++i) {
          if (i + kPrefetch < seg_end) prefetch_row(W + static_cast<int64_t>(idx[i + kPrefetch]) * dim, dim);
          accum(a, W + static_cast<int64_t>(idx[i]) * dim, wts ? wts[i] : 1.0f, dim);
        }
        if (mean && e > s) {
          const float inv = 1.0f / static_cast<float>(e - s);
          for (int d = 0; d < dim; ++d) a[d] *= inv;
        }
        if (stream) stream_row(o, a, dim);
      }
      if (stream) stream_fence();
    }
    k = k_end;
  }
}

}  // namespace

void TbeForwardCpu(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* pooled, float* sequence, ThreadPool& pool) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  // Reused across calls (no allocation on the hot path once warm). Bound to a plain reference:
  // inside the worker lambda the name would denote the *worker's* thread_local instance.
  thread_local std::vector<int64_t> tls_seq_off;
  std::vector<int64_t>& seq_off = tls_seq_off;
  SequenceOffsets(l, batch, &seq_off);
  auto body = [&](int64_t kb, int64_t ke, int) {
    if (batch.index_type == IndexType::kInt32) {
      if (batch.offset_type == IndexType::kInt32) forward_range<int32_t, int32_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke);
      else forward_range<int32_t, int64_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke);
    } else {
      if (batch.offset_type == IndexType::kInt32) forward_range<int64_t, int32_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke);
      else forward_range<int64_t, int64_t>(l, tabs, batch, pooled, sequence, seq_off, kb, ke);
    }
  };
  // Small batches are not worth waking the pool for. Bags go out in chunks to whichever thread
  // is free (each bag is computed by one thread either way): a helper preempted by another
  // process's thread no longer holds up half the batch.
  const int64_t bags = F * B;
  if (batch.num_indices < 2048) body(0, bags, 0);
  else pool.parallel_for_dynamic(bags, std::max<int64_t>(256, bags / (8 * pool.num_threads())), body);
}

}  // namespace tsrec
