// Float32 data-movement kernels for the `tsrec` tfjs backend: Slice (also behind SplitV, the
// gradient of Concat) and Concat, as row copies instead of tfjs cpu's per-element index math.
#pragma once
#include <cstdint>

namespace tsrec {

/**
 * out = x[begin : begin + size] for a row-major tensor of `rank` dims (shape); the caller has
 * checked 0 <= begin[d] and begin[d] + size[d] <= shape[d].
 */
void SliceCopy(const float* x, const int64_t* shape, const int64_t* begin, const int64_t* size, int rank, float* out);

/**
 * Concatenation of `count` inputs viewed as [outer, inner[i]] along their second axis:
 * out[o, off_i + j] = xs[i][o * inner[i] + j], off_i = Σ_{p<i} inner[p].
 */
void ConcatRows(const float* const* xs, const int64_t* inner, int count, int64_t outer, float* out);

}  // namespace tsrec
