// The CUDA TBE kernels: every case of tbe_cases.h on the CUDA placement, against a
// CpuEmbeddingCollection created with the same configs and seed (same initial bits, the same
// forward outputs and, after each fused backward step, the same weights and optimizer state to
// the same tolerances: both sum a row's gradient in the same order, only the row-wise
// reductions differ in order), plus the device-id checks. Without a CUDA device (or a CUDA
// build) it prints "SKIP: no CUDA device" and returns 77, which ctest reports as skipped.
#include <memory>

#include "tbe_cases.h"
#include "tbe_placement.h"
#include "test_util.h"
#include "tsrec/embedding_collection.h"
#include "tsrec/tbe_cuda.h"

using namespace tsrec;

TEST_CASE(device_ids_are_checked) {
  std::unique_ptr<CudaEmbeddingCollection> g;
  Status gs = CudaEmbeddingCollection::Create({{"x", 10, 4, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1,
                                              CudaDeviceCount(), &g);
  CHECK_MSG(
      !gs.ok() && gs.code() == StatusCode::kOutOfRange && gs.message().find("CUDA device id") != std::string::npos,
      "%s", gs.message().c_str());
  gs = CudaEmbeddingCollection::Create({{"x", 10, 4, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, -1, &g);
  CHECK(!gs.ok());
}

TEST_CASE(dims_that_are_not_multiples_of_4_stay_on_the_cpu) {
  // The CPU takes any dim; the kernels here move float4s, so the CUDA collection says so.
  std::unique_ptr<CudaEmbeddingCollection> g;
  const Status gs =
      CudaEmbeddingCollection::Create({{"x", 10, 6, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, 0, &g);
  CHECK_MSG(
      !gs.ok() && gs.message().find("multiple of 4 for the dim of table 'x' on device 'cuda'") != std::string::npos,
      "%s", gs.message().c_str());
}

int main() {
  if (CudaDeviceCount() == 0) {
    std::printf("SKIP: no CUDA device (%s)\n", CudaDeviceDescription(0).c_str());
    return 77;
  }
  std::printf("seed %llu (set TSREC_TEST_SEED to replay); device %s\n",
              static_cast<unsigned long long>(tsrec_test::seed_from_env()), CudaDeviceDescription(0).c_str());
  tsrec_test::add_placed_cases(tsrec_test::kCudaPlacement);
  return tsrec_test::run_all("tbe_cuda");
}
