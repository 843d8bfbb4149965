// The machine's random-gather bandwidth for a given batch, two ways, both plain multi-threaded
// loops without software prefetch over the same ids:
//   kIndexSelect: copy every looked-up row into a contiguous output (torch.index_select);
//   kReadOnly:    read every looked-up row into register accumulators (no stores at all).
// The TBE benchmark reports the forward kernel's time as a share of both (same run, same ids).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "tsrec/gather_probe.h"

namespace tsrec {

namespace {
// Sums rows of `dim` floats (a multiple of 4) into 16 lanes the compiler keeps in registers.
float sum_rows(const float* W, int dim, const TbeBatch& batch, int64_t b, int64_t e) {
  float acc[16] = {0};
  for (int64_t i = b; i < e; ++i) {
    const float* row = W + batch.index(i) * dim;
    int d = 0;
    for (; d + 16 <= dim; d += 16)
      for (int l = 0; l < 16; ++l) acc[l] += row[d + l];
    for (; d < dim; ++d) acc[d & 15] += row[d];
  }
  float t = 0.0f;
  for (float v : acc) t += v;
  return t;
}
}  // namespace

double GatherProbeSeconds(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, GatherProbeMode mode,
                          ThreadPool& pool, float* sink) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  std::vector<float> totals(static_cast<size_t>(pool.num_threads()), 0.0f);
  // index_select output: one contiguous block per thread, sized for its share of all lookups.
  std::vector<std::vector<float>> out(static_cast<size_t>(pool.num_threads()));
  if (mode == GatherProbeMode::kIndexSelect) {
    int64_t floats = 0;
    for (int64_t f = 0; f < F; ++f)
      floats += (batch.offset(f * B + B) - batch.offset(f * B) + pool.num_threads()) / pool.num_threads() *
                l.dim_of_feature(static_cast<int>(f));
    for (auto& o : out) o.assign(static_cast<size_t>(floats), 0.0f);  // touched before timing
  }
  auto t0 = std::chrono::steady_clock::now();
  pool.run([&](int tid, int nt) {
    float t = 0.0f;
    float* o = mode == GatherProbeMode::kIndexSelect ? out[tid].data() : nullptr;
    for (int64_t f = 0; f < F; ++f) {
      const int dim = l.dim_of_feature(static_cast<int>(f));
      const float* W = tabs.weights[l.features[f].table];
      const int64_t s = batch.offset(f * B), e = batch.offset(f * B + B);
      const int64_t chunk = (e - s + nt - 1) / nt;
      const int64_t b = std::min(e, s + tid * chunk), en = std::min(e, b + chunk);
      if (o) {
        for (int64_t i = b; i < en; ++i, o += dim) std::memcpy(o, W + batch.index(i) * dim, sizeof(float) * dim);
      } else {
        t += sum_rows(W, dim, batch, b, en);
      }
    }
    totals[tid] = o ? out[tid][out[tid].size() / 2] : t;
  });
  auto t1 = std::chrono::steady_clock::now();
  float total = 0.0f;
  for (float v : totals) total += v;
  if (sink) *sink = total;
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace tsrec
