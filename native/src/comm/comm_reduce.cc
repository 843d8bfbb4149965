// The arithmetic of the ordered allreduce, shared by the MPI communicator and its tests: the
// parts are combined in rank order, one float operation at a time (-ffp-contract=off), so the
// result does not depend on MPI's algorithm or on timing.
#include <algorithm>

#include "tsrec/comm.h"

namespace tsrec {

void ReduceInRankOrder(const float* const* parts, int w, int64_t n, ReduceOp op, float* out) {
  if (w <= 0 || n <= 0) return;
  if (out != parts[0]) std::copy(parts[0], parts[0] + n, out);
  for (int r = 1; r < w; ++r) {
    const float* p = parts[r];
    switch (op) {
      case ReduceOp::kSum:
        for (int64_t i = 0; i < n; ++i) out[i] = out[i] + p[i];
        break;
      // NaN wins (as JS's Math.max); otherwise the later rank's value only when strictly greater.
      case ReduceOp::kMax:
        for (int64_t i = 0; i < n; ++i) out[i] = (p[i] > out[i] || p[i] != p[i]) ? p[i] : out[i];
        break;
      case ReduceOp::kMin:
        for (int64_t i = 0; i < n; ++i) out[i] = (p[i] < out[i] || p[i] != p[i]) ? p[i] : out[i];
        break;
    }
  }
}

}  // namespace tsrec
