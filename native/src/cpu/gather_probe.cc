// The machine's random-gather bandwidth for a given batch: a plain multi-threaded loop that
// reads every looked-up row once and adds it into register accumulators (no pooling layout, no
// software prefetch, no stores; iterations are independent so the core overlaps the misses).
// The TBE benchmark reports the forward kernel's time as a share of this figure: same run,
// same ids, same bytes read.
#include <algorithm>
#include <chrono>

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

double GatherProbeSeconds(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, ThreadPool& pool, float* sink) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  std::vector<float> totals(static_cast<size_t>(pool.num_threads()), 0.0f);
  auto t0 = std::chrono::steady_clock::now();
  pool.run([&](int tid, int nt) {
    float t = 0.0f;
    for (int64_t f = 0; f < F; ++f) {
      const int dim = l.dim_of_feature(static_cast<int>(f));
      const int64_t s = batch.offset(f * B), e = batch.offset(f * B + B);
      const int64_t chunk = (e - s + nt - 1) / nt;
      const int64_t b = std::min(e, s + tid * chunk), en = std::min(e, b + chunk);
      t += sum_rows(tabs.weights[l.features[f].table], dim, batch, b, en);
    }
    totals[tid] = t;
  });
  auto t1 = std::chrono::steady_clock::now();
  float total = 0.0f;
  for (float v : totals) total += v;
  if (sink) *sink = total;
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace tsrec
