#include "tsrec/copy_kernels.h"

#include <cstring>
#include <vector>

#include "tsrec/thread_pool.h"

namespace tsrec {

namespace {
constexpr int64_t kParallelMinBytes = 1 << 18;
}

void SliceCopy(const float* x, const int64_t* shape, const int64_t* begin, const int64_t* size, int rank, float* out) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= size[d];
  if (total == 0) return;
  if (rank == 0) {
    out[0] = x[0];
    return;
  }
  std::vector<int64_t> stride(rank);
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    stride[d] = s;
    s *= shape[d];
  }
  // Trailing dims taken whole join the contiguous run; `last` is the innermost partial dim.
  int last = rank - 1;
  while (last > 0 && size[last] == shape[last] && begin[last] == 0) --last;
  const int64_t run = size[last] * stride[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= size[d];
  const int64_t base = begin[last] * stride[last];
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      int64_t off = base, rem = row;
      for (int d = last - 1; d >= 0; --d) {
        off += (begin[d] + rem % size[d]) * stride[d];
        rem /= size[d];
      }
      std::memcpy(out + row * run, x + off, sizeof(float) * static_cast<size_t>(run));
    }
  };
  if (total * 4 < kParallelMinBytes || rows < 2)
    body(0, rows);
  else
    ThreadPool::global().parallel_for(rows, [&](int64_t b, int64_t e, int) { body(b, e); });
}

void ConcatRows(const float* const* xs, const int64_t* inner, int count, int64_t outer, float* out) {
  int64_t width = 0;
  for (int i = 0; i < count; ++i) width += inner[i];
  if (width == 0 || outer == 0) return;
  auto body = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      float* dst = out + o * width;
      for (int i = 0; i < count; ++i) {
        std::memcpy(dst, xs[i] + o * inner[i], sizeof(float) * static_cast<size_t>(inner[i]));
        dst += inner[i];
      }
    }
  };
  if (outer * width * 4 < kParallelMinBytes || outer < 2)
    body(0, outer);
  else
    ThreadPool::global().parallel_for(outer, [&](int64_t b, int64_t e, int) { body(b, e); });
}

void CopyColumnRuns(const float* src, int64_t src_off, int64_t src_stride, float* dst, int64_t dst_off,
                    int64_t dst_stride, int64_t rows, const ColumnRun* runs, int64_t num_runs, double scale) {
  int64_t width = 0;
  for (int64_t k = 0; k < num_runs; ++k) width += runs[k].len;
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* s = src + src_off + r * src_stride;
      float* d = dst + dst_off + r * dst_stride;
      for (int64_t k = 0; k < num_runs; ++k) {
        const ColumnRun& run = runs[k];
        const float* from = s + run.src_col;
        float* to = d + run.dst_col;
        if (run.add != 0) {
          for (int32_t j = 0; j < run.len; ++j) to[j] = static_cast<float>(to[j] + scale * from[j]);
        } else if (scale == 1.0) {
          std::memcpy(to, from, sizeof(float) * static_cast<size_t>(run.len));
        } else {
          for (int32_t j = 0; j < run.len; ++j) to[j] = static_cast<float>(scale * from[j]);
        }
      }
    }
  };
  if (rows * width * 4 < kParallelMinBytes) {
    body(0, rows);
    return;
  }
  ThreadPool::global().parallel_for(rows, [&](int64_t b, int64_t e, int) { body(b, e); });
}

}  // namespace tsrec
