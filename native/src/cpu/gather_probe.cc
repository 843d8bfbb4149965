// The machine's random-gather bandwidth for a given batch: a plain multi-threaded loop that
// copies every looked-up row once into a contiguous buffer (index_select; no pooling, no
// software prefetch, independent iterations so the core can overlap the misses). The TBE
// benchmark reports the forward kernel's time as a share of this figure, same run, same ids.
#include <algorithm>
#include <chrono>

#include "tsrec/gather_probe.h"

namespace tsrec {

double GatherProbeSeconds(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, ThreadPool& pool, float* sink) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  int max_dim = 0;
  for (const auto& t : l.tables) max_dim = std::max(max_dim, t.dim);
  // Per-thread output block reused across features: sized for one thread's share of the largest feature.
  int64_t max_n = 0;
  for (int64_t f = 0; f < F; ++f) max_n = std::max(max_n, batch.offset(f * B + B) - batch.offset(f * B));
  const int64_t per_thread = (max_n + pool.num_threads() - 1) / pool.num_threads() + 1;
  std::vector<float> out(static_cast<size_t>(pool.num_threads() * per_thread * max_dim));
  auto t0 = std::chrono::steady_clock::now();
  pool.run([&](int tid, int nt) {
    float* o = out.data() + tid * per_thread * max_dim;
    for (int64_t f = 0; f < F; ++f) {
      const int dim = l.dim_of_feature(static_cast<int>(f));
      const float* W = tabs.weights[l.features[f].table];
      const int64_t s = batch.offset(f * B), e = batch.offset(f * B + B);
      const int64_t chunk = (e - s + nt - 1) / nt;
      const int64_t b = std::min(e, s + tid * chunk), en = std::min(e, b + chunk);
      for (int64_t i = b; i < en; ++i) {
        const float* row = W + batch.index(i) * dim;
        float* dst = o + (i - b) * dim;
        for (int d = 0; d < dim; ++d) dst[d] = row[d];
      }
    }
  });
  auto t1 = std::chrono::steady_clock::now();
  float total = 0.0f;
  for (size_t i = 0; i < out.size(); i += 61) total += out[i];
  if (sink) *sink = total;
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace tsrec
