// CUDA fused TBE backward + optimizer ("exact" semantics), the CPU skeleton's steps on the GPU:
//
//   1. keys: one thread per bag writes, for each of its positions i, bag_of[i] = bag,
//      key[i] = key_base[table] + row (a global row id over all tables) and pos[i] = i
//   2. one stable cub radix sort of (key, pos) over all tables at once, on the key's bits only:
//      positions of one row stay in increasing order, so the result is deterministic
//   3. run starts: cub::DeviceSelect::If keeps the slots whose key differs from the previous one
//   4. one warp per unique row (persistent grid): the warp loads 32 (position -> gradient source,
//      scale) pairs at once, then sums them in sorted order, so each row's gradient is the same
//      sequence of float operations as on the CPU (no FMA contraction on either side); then the
//      optimizer rule from optim.h, with the row-wise reductions (row-wise Adagrad's mean square,
//      max_norm's norm) done by warp shuffles: a fixed tree, deterministic, but not the CPU's
//      sequential order, so those differ from the CPU in the last bits
//
// Each row is owned by one warp, so there are no atomics and no races.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>

#include "tbe_cuda_kernels.h"

namespace tsrec {
namespace cuda {

namespace {

constexpr int kKeysBlock = 256;
constexpr unsigned kFullMask = 0xffffffffu;

size_t align_up(size_t x) { return (x + 255) & ~size_t{255}; }

// Scratch partition (all sized for nnz).
struct Scratch {
  int32_t* bag_of;
  uint64_t* keys_in;
  uint64_t* keys_out;
  uint32_t* pos_in;  // identity 0..nnz-1 (also the input of the run-start selection)
  uint32_t* pos_out;
  uint32_t* run_starts;
  uint32_t* num_runs;
  void* temp;
  size_t temp_bytes;
};

struct IsRunStart {
  const uint64_t* keys;
  __device__ __forceinline__ bool operator()(uint32_t j) const { return j == 0 || keys[j] != keys[j - 1]; }
};

size_t cub_temp_bytes(const DevLayout& l, int64_t nnz) {
  size_t sort_bytes = 0, select_bytes = 0;
  const uint32_t n = static_cast<uint32_t>(nnz);
  cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, static_cast<const uint64_t*>(nullptr),
                                  static_cast<uint64_t*>(nullptr), static_cast<const uint32_t*>(nullptr),
                                  static_cast<uint32_t*>(nullptr), n, 0, l.key_bits);
  cub::DeviceSelect::If(nullptr, select_bytes, static_cast<const uint32_t*>(nullptr), static_cast<uint32_t*>(nullptr),
                        static_cast<uint32_t*>(nullptr), static_cast<int64_t>(n), IsRunStart{nullptr});
  return sort_bytes > select_bytes ? sort_bytes : select_bytes;
}

Scratch partition(void* base, const DevLayout& l, int64_t nnz, size_t* total) {
  Scratch s{};
  char* p = static_cast<char*>(base);
  size_t o = 0;
  auto take = [&](size_t bytes) {
    char* at = p ? p + o : nullptr;
    o += align_up(bytes);
    return at;
  };
  const size_t n = static_cast<size_t>(nnz);
  s.bag_of = reinterpret_cast<int32_t*>(take(n * 4));
  s.keys_in = reinterpret_cast<uint64_t*>(take(n * 8));
  s.keys_out = reinterpret_cast<uint64_t*>(take(n * 8));
  s.pos_in = reinterpret_cast<uint32_t*>(take(n * 4));
  s.pos_out = reinterpret_cast<uint32_t*>(take(n * 4));
  s.run_starts = reinterpret_cast<uint32_t*>(take(n * 4));
  s.num_runs = reinterpret_cast<uint32_t*>(take(4));
  s.temp_bytes = cub_temp_bytes(l, nnz);
  s.temp = take(s.temp_bytes);
  *total = o;
  return s;
}

template <typename IdxT, typename OffT>
__global__ void __launch_bounds__(kKeysBlock)
    keys_kernel(DevLayout l, const IdxT* __restrict__ idx, const OffT* __restrict__ off, int64_t B,
                int32_t* __restrict__ bag_of, uint64_t* __restrict__ keys, uint32_t* __restrict__ pos) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= static_cast<int64_t>(l.num_features) * B) return;
  const int64_t f = k / B;
  const uint64_t base = l.tables[l.features[f].table].key_base;
  for (int64_t i = static_cast<int64_t>(off[k]), e = static_cast<int64_t>(off[k + 1]); i < e; ++i) {
    bag_of[i] = static_cast<int32_t>(k);
    keys[i] = base + static_cast<uint64_t>(idx[i]);
    pos[i] = static_cast<uint32_t>(i);
  }
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(kFullMask, v, m);
  return v;  // a butterfly: every lane holds the same bits
}

// The per-element step of the CPU skeleton: rule update, then decoupled decay.
template <typename Rule>
__device__ __forceinline__ float element_step(const OptimStep& ps, RowCtx ctx, float w_old, float g, float* s0,
                                              float* s1) {
  return Rule::update(ps, ctx, w_old, g, s0, s1) - decoupled_decay(ps, w_old);
}

struct UpdateArgs {
  DevLayout l;
  const uint64_t* keys;  // sorted global rows
  const uint32_t* pos;   // positions, sorted by row (stable)
  const uint32_t* run_starts;
  const uint32_t* num_runs;
  const int32_t* bag_of;
  const float* wts;
  const int64_t* seq_off;
  const float* grads;  // [B * P | sequence]
  int64_t nnz;
  int64_t B;
  float max_gradient;
  int32_t n_elem_states;
  int32_t row_state;
  int32_t max_dim4;
  OptimStep step;
};

template <typename Rule, typename OffT>
__global__ void update_kernel(UpdateArgs a, const OffT* __restrict__ off) {
  extern __shared__ float4 smem[];
  const int warps = blockDim.x >> 5;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float4* g = smem + static_cast<int64_t>(warp) * a.max_dim4;  // slot c is only touched by lane c % 32
  const DevLayout& l = a.l;
  const int64_t B = a.B, P = l.pooled_dim;
  const int64_t num_runs = *a.num_runs;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * warps + warp; r < num_runs;
       r += static_cast<int64_t>(gridDim.x) * warps) {
    const int64_t begin = a.run_starts[r];
    const int64_t end = r + 1 < num_runs ? static_cast<int64_t>(a.run_starts[r + 1]) : a.nnz;
    const uint64_t key = a.keys[begin];
    int lo = 0, hi = l.num_tables - 1;  // last table with key_base <= key
    while (lo < hi) {
      const int mid = (lo + hi + 1) >> 1;
      if (l.tables[mid].key_base <= key)
        lo = mid;
      else
        hi = mid - 1;
    }
    const DevTable tab = l.tables[lo];
    const int64_t row = static_cast<int64_t>(key - tab.key_base);
    const int dim = tab.dim, dim4 = dim >> 2;

    // Segment sum, in sorted (= increasing position) order.
    for (int c = lane; c < dim4; c += 32) g[c] = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int64_t jb = begin; jb < end; jb += 32) {
      const int n = end - jb < 32 ? static_cast<int>(end - jb) : 32;
      int64_t src = 0;
      float scale = 0.0f;
      if (lane < n) {
        const int64_t i = a.pos[jb + lane];
        const int64_t k = a.bag_of[i];
        const int64_t f = k / B, b = k - f * B;
        const DevFeature fm = l.features[f];
        scale = a.wts ? a.wts[i] : 1.0f;
        if (fm.pooling == static_cast<int32_t>(Pooling::kNone)) {
          src = B * P + a.seq_off[f] + (i - static_cast<int64_t>(off[f * B])) * dim;
        } else {
          src = b * P + fm.pooled_col;
          if (fm.pooling == static_cast<int32_t>(Pooling::kMean)) scale /= static_cast<float>(off[k + 1] - off[k]);
        }
      }
      for (int jj = 0; jj < n; ++jj) {
        const int64_t s = __shfl_sync(kFullMask, src, jj);
        const float sc = __shfl_sync(kFullMask, scale, jj);
        const float4* __restrict__ gp = reinterpret_cast<const float4*>(a.grads + s);
        for (int c = lane; c < dim4; c += 32) {
          const float4 v = __ldg(gp + c);
          float4 acc = g[c];
          acc.x += sc * clip_grad(v.x, a.max_gradient);
          acc.y += sc * clip_grad(v.y, a.max_gradient);
          acc.z += sc * clip_grad(v.z, a.max_gradient);
          acc.w += sc * clip_grad(v.w, a.max_gradient);
          g[c] = acc;
        }
      }
    }

    // Optimizer: decayed gradient and the rule's row term.
    OptimStep ps = a.step;
    ps.inv_dim = 1.0f / static_cast<float>(dim);
    float4* w = reinterpret_cast<float4*>(tab.weights + row * dim);
    float sum = 0.0f;
    for (int c = lane; c < dim4; c += 32) {
      const float4 wv = w[c];
      float4 gv = g[c];
      gv.x = decayed_grad(ps, gv.x, wv.x);
      gv.y = decayed_grad(ps, gv.y, wv.y);
      gv.z = decayed_grad(ps, gv.z, wv.z);
      gv.w = decayed_grad(ps, gv.w, wv.w);
      g[c] = gv;
      if (Rule::kRowReduce)
        sum += Rule::row_term(gv.x) + Rule::row_term(gv.y) + Rule::row_term(gv.z) + Rule::row_term(gv.w);
    }
    if (Rule::kRowReduce) sum = warp_sum(sum);
    // The row state is read by lane 0 and broadcast, so no lane can see lane 0's write.
    float* row_state = a.row_state ? tab.state0 + row : nullptr;
    float rs = (lane == 0 && row_state) ? *row_state : 0.0f;
    rs = __shfl_sync(kFullMask, rs, 0);
    const RowCtx ctx = Rule::precompute(ps, &rs, sum);
    if (lane == 0 && row_state) *row_state = rs;

    float4* s0 = a.n_elem_states > 0 ? reinterpret_cast<float4*>(tab.state0 + row * dim) : nullptr;
    float4* s1 = a.n_elem_states > 1 ? reinterpret_cast<float4*>(tab.state1 + row * dim) : nullptr;
    const bool renorm = ps.max_norm > 0.0f;
    float sq = 0.0f;
    for (int c = lane; c < dim4; c += 32) {
      const float4 wv = w[c], gv = g[c];
      float4 a0 = s0 ? s0[c] : make_float4(0.f, 0.f, 0.f, 0.f);
      float4 a1 = s1 ? s1[c] : make_float4(0.f, 0.f, 0.f, 0.f);
      float4 wn;
      wn.x = element_step<Rule>(ps, ctx, wv.x, gv.x, &a0.x, &a1.x);
      wn.y = element_step<Rule>(ps, ctx, wv.y, gv.y, &a0.y, &a1.y);
      wn.z = element_step<Rule>(ps, ctx, wv.z, gv.z, &a0.z, &a1.z);
      wn.w = element_step<Rule>(ps, ctx, wv.w, gv.w, &a0.w, &a1.w);
      if (s0) s0[c] = a0;
      if (s1) s1[c] = a1;
      sq += wn.x * wn.x + wn.y * wn.y + wn.z * wn.z + wn.w * wn.w;
      if (renorm)
        g[c] = wn;  // kept until the row's norm is known
      else
        w[c] = wn;
    }
    if (renorm) {
      const float scale = max_norm_scale(ps, warp_sum(sq));
      for (int c = lane; c < dim4; c += 32) {
        float4 wn = g[c];
        if (scale != 1.0f) {
          wn.x *= scale;
          wn.y *= scale;
          wn.z *= scale;
          wn.w *= scale;
        }
        w[c] = wn;
      }
    }
  }
}

int warps_per_block(const DevLayout& l) {
  const int64_t bytes_per_warp = static_cast<int64_t>(l.max_dim) * 4;
  int64_t w = 49152 / (bytes_per_warp > 0 ? bytes_per_warp : 1);
  return static_cast<int>(w < 1 ? 1 : (w > 4 ? 4 : w));
}

template <typename IdxT, typename OffT>
cudaError_t launch_keys(const DevLayout& l, const DevBatch& b, const Scratch& s, cudaStream_t stream) {
  const int64_t bags = static_cast<int64_t>(l.num_features) * b.batch_size;
  const int64_t blocks = (bags + kKeysBlock - 1) / kKeysBlock;
  keys_kernel<IdxT, OffT><<<static_cast<unsigned>(blocks), kKeysBlock, 0, stream>>>(
      l, static_cast<const IdxT*>(b.indices), static_cast<const OffT*>(b.offsets), b.batch_size, s.bag_of, s.keys_in,
      s.pos_in);
  return cudaGetLastError();
}

template <typename Rule, typename OffT>
cudaError_t launch_update(const UpdateArgs& a, const DevBatch& b, cudaStream_t stream) {
  const int warps = warps_per_block(a.l);
  const size_t smem = static_cast<size_t>(warps) * a.max_dim4 * sizeof(float4);
  // A persistent grid: enough warps to fill the device; each loops over unique rows.
  const int64_t need = (a.nnz + warps - 1) / warps;
  const int64_t cap = static_cast<int64_t>(a.l.num_sms > 0 ? a.l.num_sms : 1) * (64 / warps);
  const int64_t blocks = need < cap ? need : cap;
  update_kernel<Rule, OffT>
      <<<static_cast<unsigned>(blocks), warps * 32, smem, stream>>>(a, static_cast<const OffT*>(b.offsets));
  return cudaGetLastError();
}

}  // namespace

size_t BackwardScratchBytes(const DevLayout& l, int64_t nnz) {
  size_t total = 0;
  partition(nullptr, l, nnz, &total);
  return total;
}

cudaError_t LaunchBackward(const DevLayout& l, OptimType type, float max_gradient, const OptimStep& step,
                           const DevBatch& b, const float* grads, void* scratch, size_t scratch_bytes,
                           cudaStream_t stream) {
  const int64_t nnz = b.num_indices;
  if (nnz == 0) return cudaSuccess;
  size_t total = 0;
  const Scratch s = partition(scratch, l, nnz, &total);
  if (total > scratch_bytes) return cudaErrorInvalidValue;

  cudaError_t e;
  if (b.index_type == IndexType::kInt32) {
    e = b.offset_type == IndexType::kInt32 ? launch_keys<int32_t, int32_t>(l, b, s, stream)
                                           : launch_keys<int32_t, int64_t>(l, b, s, stream);
  } else {
    e = b.offset_type == IndexType::kInt32 ? launch_keys<int64_t, int32_t>(l, b, s, stream)
                                           : launch_keys<int64_t, int64_t>(l, b, s, stream);
  }
  if (e != cudaSuccess) return e;

  size_t temp_bytes = s.temp_bytes;
  const uint32_t n = static_cast<uint32_t>(nnz);
  e = cub::DeviceRadixSort::SortPairs(s.temp, temp_bytes, s.keys_in, s.keys_out, s.pos_in, s.pos_out, n, 0, l.key_bits,
                                      stream);
  if (e != cudaSuccess) return e;
  temp_bytes = s.temp_bytes;
  e = cub::DeviceSelect::If(s.temp, temp_bytes, static_cast<const uint32_t*>(s.pos_in), s.run_starts, s.num_runs,
                            static_cast<int64_t>(n), IsRunStart{s.keys_out}, stream);
  if (e != cudaSuccess) return e;

  UpdateArgs a;
  a.l = l;
  a.keys = s.keys_out;
  a.pos = s.pos_out;
  a.run_starts = s.run_starts;
  a.num_runs = s.num_runs;
  a.bag_of = s.bag_of;
  a.wts = b.weights;
  a.seq_off = b.seq_off;
  a.grads = grads;
  a.nnz = nnz;
  a.B = b.batch_size;
  a.max_gradient = max_gradient;
  a.n_elem_states = elem_states(type);
  a.row_state = has_row_state(type) ? 1 : 0;
  a.max_dim4 = l.max_dim / 4;
  a.step = step;
  return dispatch_rule(type, [&](auto rule) {
    using Rule = decltype(rule);
    return b.offset_type == IndexType::kInt32 ? launch_update<Rule, int32_t>(a, b, stream)
                                              : launch_update<Rule, int64_t>(a, b, stream);
  });
}

}  // namespace cuda
}  // namespace tsrec
