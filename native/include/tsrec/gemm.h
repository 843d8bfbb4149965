// Single-precision GEMM: OpenBLAS when the build found it, else a blocked built-in kernel.
// The dense tfjs kernels (MatMul, BatchMatMul, _FusedMatMul) call this.
#pragma once
#include <cstdint>
#include <functional>

namespace tsrec {

/** C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major; op = transpose when trans_*. */
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

/**
 * Row panels for a GEMM with C [m, n] and inner size k: 0 when it runs as one call (small, a
 * shape for InnerPanelRows, nested in a panel, or TSREC_GEMM_PANELS=0), else the panel height
 * (256). A GEMM of 2^22 multiply-adds or more and at least 512 rows of C (and of a row-major A)
 * runs as single-threaded BLAS calls on row panels, handed out by the pool's dynamic schedule:
 * OpenBLAS splits its work statically, so a thread preempted by the data worker holds up the
 * whole call, while here the other thread takes the remaining panels (NOTES.md, sessions 8–9).
 * The panels depend on the shape only, so the bits do not depend on the thread count.
 */
int64_t GemmPanelRows(int64_t m, int64_t n, int64_t k);

/**
 * Runs panel(r0, r1) over the row panels of GemmPanelRows (OpenBLAS single-threaded meanwhile: a
 * process-wide setting, counted across overlapping callers, so a BLAS call made meanwhile by
 * another thread is single-threaded too) and
 * returns true, or returns false without calling it when the GEMM should run as one call. Callers
 * fuse per-panel work (an epilogue, a second block) while the panel is in cache.
 */
bool RunGemmPanels(int64_t m, int64_t n, int64_t k, const std::function<void(int64_t, int64_t)>& panel);

/**
 * Inner-dimension panel depth for a GEMM with a small C [m, n] over a long k (a weight gradient
 * xᵀ·dz): 0 when it runs as one call, else the depth of each panel, whose partial products are
 * added in panel order. A function of the shape only: the bits never depend on the thread count.
 */
int64_t InnerPanelRows(int64_t m, int64_t n, int64_t k);

/** "openblas 0.3.21 (Haswell, 2 threads)" or "built-in (slow: install libopenblas-dev)". */
const char* BlasDescription();

}  // namespace tsrec
