// Stand-in for the CUDA placement in builds without CUDA: it reports why, never crashes.
#include "tsrec/tbe_cuda.h"

namespace tsrec {

struct CudaEmbeddingCollection::Impl {};

bool CudaCompiled() { return false; }
int CudaDeviceCount() { return 0; }
std::string CudaDeviceDescription(int) {
  return "this build of tsrec has no CUDA kernels (rebuild with TSREC_CUDA=ON)";
}

Status CudaEmbeddingCollection::Create(std::vector<TableConfig>, std::vector<FeatureConfig>, const OptimizerConfig&,
                                       uint64_t, int, std::unique_ptr<CudaEmbeddingCollection>*) {
  return Status::Unavailable("device 'cuda' is not available: " + CudaDeviceDescription(0));
}
CudaEmbeddingCollection::~CudaEmbeddingCollection() = default;
Status CudaEmbeddingCollection::ForwardImpl(const TbeBatch&, float* const*, float*) {
  return Status::Unavailable("no CUDA");
}
Status CudaEmbeddingCollection::BackwardImpl(const TbeBatch&, const float* const*, const float*, float) {
  return Status::Unavailable("no CUDA");
}
Status CudaEmbeddingCollection::CopyOut(int, int, int64_t, int64_t, float*) const {
  return Status::Unavailable("no CUDA");
}
Status CudaEmbeddingCollection::CopyIn(int, int, int64_t, int64_t, const float*) {
  return Status::Unavailable("no CUDA");
}

}  // namespace tsrec
