#include "tsrec/reduction_kernels.h"

#include <algorithm>
#include <vector>

#include "tsrec/thread_pool.h"

namespace tsrec {

namespace {

// Σ p[0..n) in double with 8 lane partials (lane l sums p[l], p[l + 8], …) combined in a fixed
// pairwise order: vectorised, and the same bits whatever the thread or the call.
inline double RowSum(const float* p, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t r = 0;
  for (; r + 8 <= n; r += 8)
    for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(p[r + l]);
  for (int l = 0; r < n; ++r, ++l) acc[l] += static_cast<double>(p[r]);
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

}  // namespace

void SumReduce(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner) {
  if (outer == 0 || inner == 0) return;
  ThreadPool& pool = ThreadPool::global();
  const bool big = outer * reduce * inner >= ParallelMinWork();
  if (inner == 1) {
    if (outer >= 2 * pool.num_threads() || !big) {
      ForRanges(outer, reduce, [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) out[o] = static_cast<float>(RowSum(x + o * reduce, reduce));
      });
      return;
    }
    // Few long rows: split each row, then add the partial sums in thread order (deterministic).
    for (int64_t o = 0; o < outer; ++o) {
      std::vector<double> part(pool.num_threads(), 0.0);
      const float* p = x + o * reduce;
      pool.parallel_for(reduce, [&](int64_t b, int64_t e, int tid) { part[tid] = RowSum(p + b, e - b); });
      double s = 0;
      for (double v : part) s += v;
      out[o] = static_cast<float>(s);
    }
    return;
  }
  // inner > 1: accumulate rows of `inner` values, each thread owning a column range.
  auto cols = [&](int64_t o, int64_t c0, int64_t c1) {
    std::vector<double> acc(static_cast<size_t>(c1 - c0), 0.0);
    const float* base = x + o * reduce * inner;
    for (int64_t r = 0; r < reduce; ++r) {
      const float* p = base + r * inner + c0;
      for (int64_t c = 0; c < c1 - c0; ++c) acc[c] += p[c];
    }
    float* q = out + o * inner + c0;
    for (int64_t c = 0; c < c1 - c0; ++c) q[c] = static_cast<float>(acc[c]);
  };
  if (!big) {
    for (int64_t o = 0; o < outer; ++o) cols(o, 0, inner);
  } else if (outer >= 2 * pool.num_threads()) {
    pool.parallel_for(outer, [&](int64_t b, int64_t e, int) {
      for (int64_t o = b; o < e; ++o) cols(o, 0, inner);
    });
  } else {
    for (int64_t o = 0; o < outer; ++o) pool.parallel_for(inner, [&](int64_t b, int64_t e, int) { cols(o, b, e); });
  }
}

}  // namespace tsrec
