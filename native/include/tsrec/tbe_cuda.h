// CUDA placement of an EmbeddingCollection: tables and optimizer state in device memory, the
// same contracts and results (to float tolerance) as the CPU kernels. This header needs no CUDA
// headers; when the build has no CUDA (TSREC_WITH_CUDA unset) Create() returns Unavailable.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tsrec/embedding_collection.h"

namespace tsrec {

/** True when this build compiled the CUDA kernels. */
bool CudaCompiled();
/** Usable CUDA devices (0 without a build, a driver or a GPU; never throws). */
int CudaDeviceCount();
/** "NVIDIA H100 80GB HBM3 (sm_90)" style description of device d, or why there is none. */
std::string CudaDeviceDescription(int d);

/**
 * Collection in device memory. Batches and gradients are passed in host memory and copied in
 * (the trainer's data path is on the host); outputs are copied back. Initial values equal the
 * CPU collection's for the same seed (initialised on the host, then uploaded).
 */
class CudaEmbeddingCollection final : public EmbeddingCollection {
 public:
  static Status Create(std::vector<TableConfig> tables, std::vector<FeatureConfig> features,
                       const OptimizerConfig& optim, uint64_t seed, int device_id,
                       std::unique_ptr<CudaEmbeddingCollection>* out);
  ~CudaEmbeddingCollection() override;
  Device device() const override { return Device::kCuda; }

  struct Impl;  // device buffers, stream, scratch (tbe_cuda_collection.cu)

 private:
  CudaEmbeddingCollection() = default;
  Status ForwardImpl(const TbeBatch& batch, float* const* pooled, float* sequence) override;
  Status BackwardImpl(const TbeBatch& batch, const float* const* grad_pooled, const float* grad_sequence,
                      float lr) override;
  Status CopyOut(int t, int which, int64_t start, int64_t count, float* dst) const override;
  Status CopyIn(int t, int which, int64_t start, int64_t count, const float* src) override;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsrec
