// The machine's random-gather bandwidth for a given batch: a plain multi-threaded loop that
// reads every looked-up row once (no pooling, no prefetch). The TBE benchmark reports the
// forward kernel's throughput as a share of this figure, measured in the same run.
#include <algorithm>
#include <chrono>

#include "tsrec/gather_probe.h"

namespace tsrec {

double GatherProbeSeconds(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, ThreadPool& pool, float* sink) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  std::vector<float> acc(static_cast<size_t>(pool.num_threads()) * 256, 0.0f);
  auto t0 = std::chrono::steady_clock::now();
  pool.run([&](int tid, int nt) {
    float* a = acc.data() + tid * 256;
    for (int64_t f = 0; f < F; ++f) {
      const int dim = l.dim_of_feature(static_cast<int>(f));
      const float* W = tabs.weights[l.features[f].table];
      const int64_t s = batch.offset(f * B), e = batch.offset(f * B + B);
      const int64_t chunk = (e - s + nt - 1) / nt;
      const int64_t b = std::min(e, s + tid * chunk), en = std::min(e, b + chunk);
      for (int64_t i = b; i < en; ++i) {
        const float* row = W + batch.index(i) * dim;
        for (int d = 0; d < dim; ++d) a[d & 255] += row[d];
      }
    }
  });
  auto t1 = std::chrono::steady_clock::now();
  float total = 0.0f;
  for (float v : acc) total += v;
  if (sink) *sink = total;
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace tsrec
