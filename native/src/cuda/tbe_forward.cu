// CUDA TBE forward: one group of G threads per bag (G a power of two, G*4 >= the largest dim,
// at most a warp), each thread owning float4 columns of the row. Ids of a bag are summed in bag
// order with the CPU kernel's float operations (built with --fmad=false, as the CPU core is with
// -ffp-contract=off), so pooled values equal the CPU's.
#include "tbe_cuda_kernels.h"

namespace tsrec {
namespace cuda {

namespace {

constexpr int kForwardBlock = 256;

__device__ __forceinline__ float4 fma4(float w, float4 r, float4 acc) {
  acc.x += w * r.x;
  acc.y += w * r.y;
  acc.z += w * r.z;
  acc.w += w * r.w;
  return acc;
}

template <typename IdxT, typename OffT>
__global__ void __launch_bounds__(kForwardBlock)
    forward_kernel(DevLayout l, const IdxT* __restrict__ idx, const OffT* __restrict__ off,
                   const float* __restrict__ wts, const int64_t* __restrict__ seq_off, int64_t B, int group,
                   float* __restrict__ pooled, float* __restrict__ sequence) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t k = tid / group;  // flat bag f * B + b
  if (k >= static_cast<int64_t>(l.num_features) * B) return;
  const int lane = static_cast<int>(tid & (group - 1));
  const int64_t f = k / B, b = k - f * B;
  const DevFeature fm = l.features[f];
  const int dim4 = fm.dim >> 2;
  const float4* __restrict__ W = reinterpret_cast<const float4*>(l.tables[fm.table].weights);
  const int64_t s = static_cast<int64_t>(off[k]), e = static_cast<int64_t>(off[k + 1]);
  if (fm.pooling == static_cast<int32_t>(Pooling::kNone)) {
    float4* out = reinterpret_cast<float4*>(sequence + seq_off[f]);
    const int64_t base = static_cast<int64_t>(off[f * B]);
    for (int64_t i = s; i < e; ++i) {
      const float4* row = W + static_cast<int64_t>(idx[i]) * dim4;
      const float w = wts ? wts[i] : 1.0f;
      for (int c = lane; c < dim4; c += group) {
        const float4 r = __ldg(row + c);
        out[(i - base) * dim4 + c] = make_float4(w * r.x, w * r.y, w * r.z, w * r.w);
      }
    }
    return;
  }
  float4* o = reinterpret_cast<float4*>(pooled + b * l.pooled_dim + fm.pooled_col);
  const bool mean = fm.pooling == static_cast<int32_t>(Pooling::kMean);
  for (int c = lane; c < dim4; c += group) {
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    int64_t i = s;
    // Four independent row loads in flight per thread; summed in bag order afterwards.
    for (; i + 4 <= e; i += 4) {
      const int64_t r0 = static_cast<int64_t>(idx[i]), r1 = static_cast<int64_t>(idx[i + 1]);
      const int64_t r2 = static_cast<int64_t>(idx[i + 2]), r3 = static_cast<int64_t>(idx[i + 3]);
      const float4 v0 = __ldg(W + r0 * dim4 + c), v1 = __ldg(W + r1 * dim4 + c);
      const float4 v2 = __ldg(W + r2 * dim4 + c), v3 = __ldg(W + r3 * dim4 + c);
      acc = fma4(wts ? wts[i] : 1.0f, v0, acc);
      acc = fma4(wts ? wts[i + 1] : 1.0f, v1, acc);
      acc = fma4(wts ? wts[i + 2] : 1.0f, v2, acc);
      acc = fma4(wts ? wts[i + 3] : 1.0f, v3, acc);
    }
    for (; i < e; ++i) acc = fma4(wts ? wts[i] : 1.0f, __ldg(W + static_cast<int64_t>(idx[i]) * dim4 + c), acc);
    if (mean && e > s) {
      const float inv = 1.0f / static_cast<float>(e - s);
      acc.x *= inv;
      acc.y *= inv;
      acc.z *= inv;
      acc.w *= inv;
    }
    o[c] = acc;
  }
}

template <typename IdxT, typename OffT>
cudaError_t launch_typed(const DevLayout& l, const DevBatch& b, float* pooled, float* sequence, cudaStream_t stream) {
  int group = 1;
  while (group < 32 && group * 4 < l.max_dim) group <<= 1;
  const int64_t threads = static_cast<int64_t>(l.num_features) * b.batch_size * group;
  if (threads == 0) return cudaSuccess;
  const int64_t blocks = (threads + kForwardBlock - 1) / kForwardBlock;
  forward_kernel<IdxT, OffT><<<static_cast<unsigned>(blocks), kForwardBlock, 0, stream>>>(
      l, static_cast<const IdxT*>(b.indices), static_cast<const OffT*>(b.offsets), b.weights, b.seq_off, b.batch_size,
      group, pooled, sequence);
  return cudaGetLastError();
}

}  // namespace

cudaError_t ProbeKernels() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, forward_kernel<int32_t, int32_t>);
}

cudaError_t LaunchForward(const DevLayout& l, const DevBatch& b, float* pooled, float* sequence, cudaStream_t stream) {
  if (b.index_type == IndexType::kInt32) {
    return b.offset_type == IndexType::kInt32 ? launch_typed<int32_t, int32_t>(l, b, pooled, sequence, stream)
                                              : launch_typed<int32_t, int64_t>(l, b, pooled, sequence, stream);
  }
  return b.offset_type == IndexType::kInt32 ? launch_typed<int64_t, int32_t>(l, b, pooled, sequence, stream)
                                            : launch_typed<int64_t, int64_t>(l, b, pooled, sequence, stream);
}

}  // namespace cuda
}  // namespace tsrec
