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
  static Status Create(std::vector<TableConfig> tables, std::vector<FeatureConfig> features, const OptimizerConfig& optim,
                       uint64_t seed, int device_id, std::unique_ptr<CudaEmbeddingCollection>* out);
  ~CudaEmbeddingCollection() override;
  Device device() const override { return Device::kCuda; }

  Status Forward(const TbeBatch& batch, float* pooled, float* sequence) override;
  Status BackwardAndUpdate(const TbeBatch& batch, const float* grad_pooled, const float* grad_sequence, float lr) override;

  struct Impl;  // device buffers, stream, scratch (tbe_cuda_collection.cu)

 private:
  CudaEmbeddingCollection() = default;
  Status CopyOut(int t, int which, int64_t offset, int64_t n, float* dst) const override;
  Status CopyIn(int t, int which, int64_t offset, int64_t n, const float* src) override;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsrec
