// Non-temporal (streaming) stores of whole 64-byte lines: the pooled output of the TBE forward
// is written once and read later by another kernel, so skipping the read-for-ownership halves
// its memory traffic (dlrm26 forward 0.66 -> 0.51 ms, native/bench/NOTES.md). Only for
// destinations that are 64-byte aligned and a multiple of 16 floats long.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

namespace tsrec {

/** Whether `dim` floats at `dst` can be written with stream_row(). */
inline bool can_stream(const float* dst, int dim) {
#if defined(__AVX512F__) || defined(__AVX__)
  return dim % 16 == 0 && reinterpret_cast<uintptr_t>(dst) % 64 == 0;
#else
  (void)dst;
  (void)dim;
  return false;
#endif
}

/** Copies dim floats (64-byte aligned src and dst, dim % 16 == 0) with streaming stores. */
inline void stream_row(float* dst, const float* src, int dim) {
#if defined(__AVX512F__)
  for (int d = 0; d < dim; d += 16) _mm512_stream_ps(dst + d, _mm512_load_ps(src + d));
#elif defined(__AVX__)
  for (int d = 0; d < dim; d += 8) _mm256_stream_ps(dst + d, _mm256_load_ps(src + d));
#else
  std::memcpy(dst, src, sizeof(float) * dim);
#endif
}

/** Orders streaming stores before later stores (call once after a run of stream_row). */
inline void stream_fence() {
#if defined(__AVX512F__) || defined(__AVX__)
  _mm_sfence();
#endif
}

}  // namespace tsrec
