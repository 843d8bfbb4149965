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

/** One run of columns: `len` columns from `src_col` to `dst_col`, added (add = 1) or set (0). */
struct ColumnRun {
  int32_t src_col;
  int32_t dst_col;
  int32_t len;
  int32_t add;
};

/**
 * For each of `rows` rows r and each run: dst[dst_off + r * dst_stride + dst_col + j] (=, or +=)
 * scale * src[src_off + r * src_stride + src_col + j], j < len — the column gathers and scatters
 * of a sharded embedding collection (pooled columns and their gradients to and from the ranks).
 * Products and sums are taken in double and rounded once to float, as JavaScript computes
 * `f32[i] = a * b` (so a copy here and one in JS give the same bits). The caller has checked every
 * index against both arrays.
 */
void CopyColumnRuns(const float* src, int64_t src_off, int64_t src_stride, float* dst, int64_t dst_off,
                    int64_t dst_stride, int64_t rows, const ColumnRun* runs, int64_t num_runs, double scale);

}  // namespace tsrec
