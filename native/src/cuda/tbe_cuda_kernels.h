// Internal contract between the CUDA collection (tbe_cuda_collection.cc, host code) and the
// TBE kernels (tbe_forward.cu, tbe_backward.cu). Everything here lives in device memory or is
// passed by value to a launch; the launchers only enqueue work on `stream` and return the
// launch status (no synchronisation, no allocation).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "tsrec/optim.h"
#include "tsrec/tbe.h"

namespace tsrec {
namespace cuda {

/** One table in device memory. key_base = rows of all earlier tables (sort keys are global rows). */
struct DevTable {
  float* weights;
  float* state0;  // row-wise Adagrad: [rows]; Adagrad / Adam: [rows * dim]; else null
  float* state1;  // Adam: [rows * dim]; else null
  int64_t rows;
  uint64_t key_base;
  int32_t dim;
  int32_t pad;
};

/** One feature in device memory. */
struct DevFeature {
  int64_t pooled_col;  // -1 for NONE
  int32_t table;
  int32_t dim;
  int32_t pooling;  // Pooling as int
  int32_t pad;
};

/** Device-side geometry of a collection (fixed at creation). */
struct DevLayout {
  const DevTable* tables;      // [T], device
  const DevFeature* features;  // [F], device
  int32_t num_tables;
  int32_t num_features;
  int64_t pooled_dim;
  int32_t max_dim;
  int32_t key_bits;  // bits of the largest global row (sort key width)
  int32_t num_sms;   // of the collection's device: sizes the persistent update grid
};

/** One batch already copied to device memory. */
struct DevBatch {
  const void* indices;
  IndexType index_type;
  const void* offsets;
  IndexType offset_type;
  const float* weights;    // null when unweighted
  const int64_t* seq_off;  // [F]: start of each NONE feature's block in the sequence output
  int64_t num_indices;
  int64_t batch_size;
};

/** Largest dim the fused backward supports (one warp's row gradient must fit in shared memory). */
constexpr int32_t kMaxCudaDim = 12288;

/** Fails (cudaErrorNoKernelImageForDevice, ...) when the current device cannot run these kernels. */
cudaError_t ProbeKernels();

/** Forward: pooled [B, pooled_dim] and the sequence block, both device memory. */
cudaError_t LaunchForward(const DevLayout& l, const DevBatch& b, float* pooled, float* sequence, cudaStream_t stream);

/** Bytes of device scratch the fused backward needs for nnz indices (grows with nnz only). */
size_t BackwardScratchBytes(const DevLayout& l, int64_t nnz);

/**
 * Fused backward + optimizer. grads = [grad_pooled (B * pooled_dim) | grad_sequence] in device
 * memory. scratch holds BackwardScratchBytes(l, nnz) bytes.
 */
cudaError_t LaunchBackward(const DevLayout& l, OptimType type, float max_gradient, const OptimStep& step,
                           const DevBatch& b, const float* grads, void* scratch, size_t scratch_bytes,
                           cudaStream_t stream);

}  // namespace cuda
}  // namespace tsrec
