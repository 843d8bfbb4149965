// CUDA runtime errors as Status: every CUDA call of the collection goes through these, so no
// CUDA error crosses into the binding unconverted and nothing aborts.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "tsrec/status.h"

namespace tsrec {
namespace cuda {

/** Status for a failed CUDA call: out-of-memory is Unavailable, the rest Internal. */
inline Status CudaError(cudaError_t e, const std::string& what) {
  std::string m = "CUDA error in " + what + ": " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")";
  return e == cudaErrorMemoryAllocation ? Status::Unavailable(m) : Status::Internal(m);
}

}  // namespace cuda
}  // namespace tsrec

#define TSREC_CUDA_RETURN_IF_ERROR(expr, what)                        \
  do {                                                                \
    const cudaError_t _e = (expr);                                    \
    if (_e != cudaSuccess) return ::tsrec::cuda::CudaError(_e, what); \
  } while (0)
