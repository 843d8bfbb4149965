// Single-precision GEMM: OpenBLAS when the build found it, else a blocked built-in kernel.
// The dense tfjs kernels (MatMul, BatchMatMul, _FusedMatMul) call this.
#pragma once
#include <cstdint>

namespace tsrec {

/** C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major; op = transpose when trans_*. */
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc);

/** "openblas 0.3.21 (Haswell, 2 threads)" or "built-in (slow: install libopenblas-dev)". */
const char* BlasDescription();

}  // namespace tsrec
