// CUDA placement of the EmbeddingCollection: device buffers, the stream, the batch transfer and
// the checks around the kernels (tbe_forward.cu, tbe_backward.cu). Host code only.
//
// Every entry validates the batch on the host first (ValidateBatch, the CPU path's checker, so the
// messages are identical and a bad batch never reaches the device), then packs the batch (and the
// gradients) into one pinned staging buffer, copies it to device scratch in one transfer, runs the
// kernels on the collection's stream and copies the outputs back. Scratch and staging grow to the
// largest batch seen and are reused: no cudaMalloc per call once warm.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "cuda_status.h"
#include "tbe_cuda_kernels.h"
#include "tsrec/tbe_cuda.h"

namespace tsrec {

namespace {

constexpr size_t kAlign = 256;
size_t align_up(size_t x) { return (x + kAlign - 1) & ~(kAlign - 1); }

/** A device (or pinned host) block that only grows; growth is geometric so that batches of slowly varying size stop
 * reallocating. */
struct GrowBuffer {
  void* ptr = nullptr;
  size_t cap = 0;
  bool pinned_host = false;

  Status Reserve(size_t need, const char* what) {
    if (need <= cap) return Status::Ok();
    size_t want = cap + cap / 2;
    if (want < need) want = need;
    want = align_up(want);
    Release();
    void* p = nullptr;
    const cudaError_t e = pinned_host ? cudaMallocHost(&p, want) : cudaMalloc(&p, want);
    if (e != cudaSuccess) {
      cudaGetLastError();  // allocation failures are not sticky; clear them
      return Status::Unavailable(std::string("could not allocate ") + std::to_string(want) + " bytes of " +
                                 (pinned_host ? "pinned host" : "device") + " memory for " + what + ": " +
                                 cudaGetErrorString(e));
    }
    ptr = p;
    cap = want;
    return Status::Ok();
  }
  void Release() {
    if (ptr) {
      if (pinned_host)
        cudaFreeHost(ptr);
      else
        cudaFree(ptr);
    }
    ptr = nullptr;
    cap = 0;
  }
};

int key_bits_for(uint64_t total_rows) {
  int b = 1;
  while (b < 64 && (uint64_t{1} << b) < total_rows) ++b;
  return b;
}

}  // namespace

struct CudaEmbeddingCollection::Impl {
  int device = 0;
  cudaStream_t stream = nullptr;
  std::vector<float*> weights;              // [T]
  std::vector<std::vector<float*>> states;  // [T][num_states]
  void* meta = nullptr;                     // DevTable[T] then DevFeature[F]
  cuda::DevLayout dev{};
  GrowBuffer batch;                      // packed batch (+ gradients) on the device
  GrowBuffer staging{nullptr, 0, true};  // the same bytes, pinned, on the host
  GrowBuffer out;                        // forward outputs [pooled | sequence]
  GrowBuffer scratch;                    // backward: keys, sort and select temp
  std::vector<int64_t> seq_off;

  ~Impl() {
    if (cudaSetDevice(device) != cudaSuccess) return;
    if (stream) cudaStreamSynchronize(stream);
    for (float* w : weights) cudaFree(w);
    for (auto& s : states)
      for (float* p : s) cudaFree(p);
    if (meta) cudaFree(meta);
    batch.Release();
    staging.Release();
    out.Release();
    scratch.Release();
    if (stream) cudaStreamDestroy(stream);
    cudaGetLastError();
  }

  Status Enter() {
    TSREC_CUDA_RETURN_IF_ERROR(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
    // Normally idle (every entry ends synchronised); after an entry that failed half-way this
    // makes sure no copy still reads the staging buffer that is about to be refilled.
    TSREC_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream), "an earlier TBE call");
    return Status::Ok();
  }

  // Where each part of a packed batch lies (byte offsets, identical in staging and on the device).
  struct Packing {
    size_t indices = 0, offsets = 0, weights = 0, seq_off = 0, grads = 0, total = 0;
  };

  /** Packs the batch (and, when grads_floats > 0, the two gradient blocks) and uploads it. */
  Status Upload(const TbeLayout& l, const TbeBatch& b, const float* grad_pooled, int64_t pooled_floats,
                const float* grad_seq, int64_t seq_floats, bool with_grads, cuda::DevBatch* db,
                const float** dev_grads) {
    const int64_t F = static_cast<int64_t>(l.features.size());
    const size_t isz = b.index_type == IndexType::kInt32 ? 4 : 8;
    const size_t osz = b.offset_type == IndexType::kInt32 ? 4 : 8;
    Packing p;
    size_t o = 0;
    auto take = [&](size_t bytes) {
      const size_t at = o;
      o += align_up(bytes);
      return at;
    };
    p.indices = take(static_cast<size_t>(b.num_indices) * isz);
    p.offsets = take(static_cast<size_t>(b.num_offsets) * osz);
    p.weights = b.weights ? take(static_cast<size_t>(b.num_indices) * 4) : 0;
    p.seq_off = take(static_cast<size_t>(F) * 8);
    p.grads = with_grads ? take(static_cast<size_t>(pooled_floats + seq_floats) * 4) : 0;
    p.total = o;
    TSREC_RETURN_IF_ERROR(staging.Reserve(p.total, "the batch staging buffer"));
    TSREC_RETURN_IF_ERROR(batch.Reserve(p.total, "the batch"));
    char* h = static_cast<char*>(staging.ptr);
    if (b.num_indices > 0) std::memcpy(h + p.indices, b.indices, static_cast<size_t>(b.num_indices) * isz);
    std::memcpy(h + p.offsets, b.offsets, static_cast<size_t>(b.num_offsets) * osz);
    if (b.weights && b.num_indices > 0) std::memcpy(h + p.weights, b.weights, static_cast<size_t>(b.num_indices) * 4);
    SequenceOffsets(l, b, &seq_off);
    std::memcpy(h + p.seq_off, seq_off.data(), static_cast<size_t>(F) * 8);
    if (with_grads) {
      if (pooled_floats > 0) std::memcpy(h + p.grads, grad_pooled, static_cast<size_t>(pooled_floats) * 4);
      if (seq_floats > 0)
        std::memcpy(h + p.grads + static_cast<size_t>(pooled_floats) * 4, grad_seq,
                    static_cast<size_t>(seq_floats) * 4);
    }
    TSREC_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(batch.ptr, staging.ptr, p.total, cudaMemcpyHostToDevice, stream),
                               "the batch upload");
    char* d = static_cast<char*>(batch.ptr);
    db->indices = d + p.indices;
    db->index_type = b.index_type;
    db->offsets = d + p.offsets;
    db->offset_type = b.offset_type;
    db->weights = b.weights ? reinterpret_cast<const float*>(d + p.weights) : nullptr;
    db->seq_off = reinterpret_cast<const int64_t*>(d + p.seq_off);
    db->num_indices = b.num_indices;
    db->batch_size = b.batch_size;
    if (dev_grads) *dev_grads = with_grads ? reinterpret_cast<const float*>(d + p.grads) : nullptr;
    return Status::Ok();
  }

  /** Waits for the stream and turns any error of the enqueued work into a Status. */
  Status Finish(const char* what) {
    const cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) return cuda::CudaError(e, what);
    TSREC_CUDA_RETURN_IF_ERROR(cudaGetLastError(), what);
    return Status::Ok();
  }
};

bool CudaCompiled() { return true; }

int CudaDeviceCount() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // no driver / no device: not an error for the caller
    return 0;
  }
  return n;
}

std::string CudaDeviceDescription(int d) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no usable CUDA device: ") + cudaGetErrorString(e);
  }
  if (n == 0) return "no CUDA device";
  if (d < 0 || d >= n) return "no CUDA device " + std::to_string(d) + " (this machine has " + std::to_string(n) + ")";
  cudaDeviceProp p;
  const cudaError_t pe = cudaGetDeviceProperties(&p, d);
  if (pe != cudaSuccess) {
    cudaGetLastError();
    return "CUDA device " + std::to_string(d) + ": " + cudaGetErrorString(pe);
  }
  const double gib = static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
  char mem[32];
  std::snprintf(mem, sizeof(mem), "%.0f GiB", gib);
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " + mem + ", " +
         std::to_string(p.multiProcessorCount) + " SMs)";
}

namespace {

using Impl = CudaEmbeddingCollection::Impl;

/** OK when device_id names a usable CUDA device. */
Status check_device_id(int device_id) {
  const int n = CudaDeviceCount();
  if (n == 0) return Status::Unavailable("device 'cuda' is not available: " + CudaDeviceDescription(0));
  if (device_id < 0 || device_id >= n)
    return Status::OutOfRange("Expected a CUDA device id in [0, " + std::to_string(n) + ") but received " +
                              std::to_string(device_id));
  return Status::Ok();
}

/** OK when the CUDA kernels implement this layout: no co-located tables, one pooled output, dims <= kMaxCudaDim. */
Status check_cuda_supports_layout(const TbeLayout& l) {
  if (l.co_located || l.num_outputs() > 1)
    return Status::InvalidArgument(
        "co-located tables and several pooled outputs are not implemented on device 'cuda' yet; use device 'cpu'");
  for (size_t t = 0; t < l.tables.size(); ++t) {
    // The kernels move rows as float4s.
    if (l.tables[t].dim % 4 != 0)
      return Status::InvalidArgument("Expected a multiple of 4 for the dim of table '" + l.tables[t].name +
                                     "' on device 'cuda' (other dims are not supported yet there; use device 'cpu') "
                                     "but received " +
                                     std::to_string(l.tables[t].dim));
    if (l.tables[t].dim > cuda::kMaxCudaDim)
      return Status::InvalidArgument("Expected dim <= " + std::to_string(cuda::kMaxCudaDim) + " for table '" +
                                     l.tables[t].name + "' on device 'cuda' but received " +
                                     std::to_string(l.tables[t].dim));
  }
  return Status::Ok();
}

/**
 * Makes device_id current for m, checks that this build's kernels run on it, creates the
 * collection's stream and records the device's SM count in m.dev.
 */
Status open_device(int device_id, Impl& m) {
  m.device = device_id;
  TSREC_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_id), "cudaSetDevice(" + std::to_string(device_id) + ")");
  const cudaError_t probe = cuda::ProbeKernels();
  if (probe != cudaSuccess) {
    cudaGetLastError();
    return Status::Unavailable("the tsrec CUDA kernels cannot run on " + CudaDeviceDescription(device_id) + ": " +
                               cudaGetErrorString(probe) +
                               " (rebuild with TSREC_CUDA_ARCHS set to this device's architecture)");
  }
  TSREC_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  int sms = 0;
  TSREC_CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_id),
                             "cudaDeviceGetAttribute");
  m.dev.num_sms = sms;
  return Status::Ok();
}

/** Allocates the device buffers of table t of c (weights and each optimizer state) into m. */
Status allocate_table_buffers(const EmbeddingCollection& c, int t, Impl& m) {
  const TableConfig& tc = c.layout().tables[t];
  for (int k = kWeights; k < c.num_states(); ++k) {
    const size_t bytes = static_cast<size_t>(tc.rows * c.row_width(t, k)) * sizeof(float);
    float** dst = k == kWeights ? &m.weights[t] : &m.states[t][k];
    const cudaError_t e = cudaMalloc(reinterpret_cast<void**>(dst), bytes);
    if (e != cudaSuccess) {
      *dst = nullptr;
      cudaGetLastError();
      return Status::Unavailable("could not allocate " + std::to_string(bytes) + " bytes of device memory for table '" +
                                 tc.name + "' on " + CudaDeviceDescription(m.device) + ": " + cudaGetErrorString(e));
    }
  }
  return Status::Ok();
}

/**
 * Host memory for one chunk of rows of a table's weights and optimizer states, reused for every
 * table: a large table never needs its full size (and its optimizer state) in host memory.
 */
struct HostStaging {
  std::vector<float> weights;
  std::vector<std::vector<float>> states;
};

/** Rows per staging chunk of table tc: at most ~64 MiB of weights, at least one row. */
int64_t staging_chunk_rows(const TableConfig& tc) {
  return std::max<int64_t>(1, std::min<int64_t>(tc.rows, (int64_t{64} << 20) / (4 * int64_t{tc.dim})));
}

/**
 * Writes the initial values of table t of c into its device buffers in m, chunk by chunk. The
 * values come from InitTableRowsHost, the CPU collection's initialiser by row range, so both
 * placements start from identical bits.
 */
Status upload_initial_values(const EmbeddingCollection& c, int t, const OptimizerConfig& optim, uint64_t seed, Impl& m,
                             HostStaging& staging) {
  const TableConfig& tc = c.layout().tables[t];
  const int S = c.num_states();
  const int64_t chunk = staging_chunk_rows(tc);
  try {
    staging.weights.resize(static_cast<size_t>(chunk * tc.dim));
    staging.states.resize(S);
    for (int k = 0; k < S; ++k) staging.states[k].resize(static_cast<size_t>(chunk * c.row_width(t, k)));
  } catch (const std::bad_alloc&) {
    return Status::Unavailable("could not allocate host memory to stage table '" + tc.name + "' for device 'cuda'");
  }
  std::vector<float*> st;
  for (int k = 0; k < S; ++k) st.push_back(staging.states[k].data());
  for (int64_t r0 = 0; r0 < tc.rows; r0 += chunk) {
    const int64_t n = std::min(chunk, tc.rows - r0);
    InitTableRowsHost(tc, optim, seed, t, r0, n, staging.weights.data(), st);
    for (int k = kWeights; k < S; ++k) {
      const int64_t width = c.row_width(t, k);
      float* dst = (k == kWeights ? m.weights[t] : m.states[t][k]) + r0 * width;
      // From pageable memory cudaMemcpy has consumed the source when it returns: the staging
      // buffers can be refilled for the next chunk (Create synchronises the device at the end).
      TSREC_CUDA_RETURN_IF_ERROR(cudaMemcpy(dst, k == kWeights ? staging.weights.data() : staging.states[k].data(),
                                            static_cast<size_t>(n * width) * sizeof(float), cudaMemcpyHostToDevice),
                                 "the upload of table '" + tc.name + "'");
    }
  }
  return Status::Ok();
}

/** The device records of the tables (their buffers in m; global sort keys: tables' rows one after another). */
std::vector<cuda::DevTable> dev_tables(const TbeLayout& l, const Impl& m) {
  std::vector<cuda::DevTable> dt(l.tables.size());
  uint64_t key_base = 0;
  for (size_t t = 0; t < l.tables.size(); ++t) {
    const size_t S = m.states[t].size();
    dt[t].weights = m.weights[t];
    dt[t].state0 = S > 0 ? m.states[t][0] : nullptr;
    dt[t].state1 = S > 1 ? m.states[t][1] : nullptr;
    dt[t].rows = l.tables[t].rows;
    dt[t].key_base = key_base;
    dt[t].dim = l.tables[t].dim;
    dt[t].pad = 0;
    key_base += static_cast<uint64_t>(l.tables[t].rows);
  }
  return dt;
}

/** The device records of the features. */
std::vector<cuda::DevFeature> dev_features(const TbeLayout& l) {
  std::vector<cuda::DevFeature> df(l.features.size());
  for (size_t f = 0; f < l.features.size(); ++f) {
    df[f].pooled_col = l.pooled_col[f];
    df[f].table = l.features[f].table;
    df[f].dim = l.dim_of_feature(static_cast<int>(f));
    df[f].pooling = static_cast<int32_t>(l.features[f].pooling);
    df[f].pad = 0;
  }
  return df;
}

/** Uploads the table and feature records into one device block (m.meta) and fills m.dev's geometry. */
Status upload_layout(const TbeLayout& l, Impl& m) {
  const std::vector<cuda::DevTable> dt = dev_tables(l, m);
  const std::vector<cuda::DevFeature> df = dev_features(l);
  const int T = static_cast<int>(dt.size()), F = static_cast<int>(df.size());
  const size_t tbytes = align_up(sizeof(cuda::DevTable) * T);
  const size_t meta_bytes = tbytes + sizeof(cuda::DevFeature) * F;
  TSREC_CUDA_RETURN_IF_ERROR(cudaMalloc(&m.meta, meta_bytes), "the allocation of the collection's layout");
  TSREC_CUDA_RETURN_IF_ERROR(cudaMemcpy(m.meta, dt.data(), sizeof(cuda::DevTable) * T, cudaMemcpyHostToDevice),
                             "the layout upload");
  TSREC_CUDA_RETURN_IF_ERROR(
      cudaMemcpy(static_cast<char*>(m.meta) + tbytes, df.data(), sizeof(cuda::DevFeature) * F, cudaMemcpyHostToDevice),
      "the layout upload");
  int32_t max_dim = 0;
  uint64_t total_rows = 0;
  for (const auto& tc : l.tables) {
    max_dim = std::max(max_dim, tc.dim);
    total_rows += static_cast<uint64_t>(tc.rows);
  }
  m.dev.tables = static_cast<const cuda::DevTable*>(m.meta);
  m.dev.features = reinterpret_cast<const cuda::DevFeature*>(static_cast<char*>(m.meta) + tbytes);
  m.dev.num_tables = T;
  m.dev.num_features = F;
  m.dev.pooled_dim = l.pooled_dim;
  m.dev.max_dim = max_dim;
  m.dev.key_bits = key_bits_for(total_rows);
  return Status::Ok();
}

}  // namespace

Status CudaEmbeddingCollection::Create(std::vector<TableConfig> tables, std::vector<FeatureConfig> features,
                                       const OptimizerConfig& optim, uint64_t seed, int device_id,
                                       std::unique_ptr<CudaEmbeddingCollection>* out) {
  TSREC_RETURN_IF_ERROR(check_device_id(device_id));
  std::unique_ptr<CudaEmbeddingCollection> c(new CudaEmbeddingCollection());
  TSREC_RETURN_IF_ERROR(c->Init(std::move(tables), std::move(features), optim));
  TSREC_RETURN_IF_ERROR(check_cuda_supports_layout(c->layout_));
  c->impl_.reset(new Impl());
  Impl& m = *c->impl_;
  TSREC_RETURN_IF_ERROR(open_device(device_id, m));
  const int T = c->num_tables();
  m.weights.assign(T, nullptr);
  m.states.assign(T, std::vector<float*>(c->num_states(), nullptr));
  HostStaging staging;
  for (int t = 0; t < T; ++t) {
    TSREC_RETURN_IF_ERROR(allocate_table_buffers(*c, t, m));
    TSREC_RETURN_IF_ERROR(upload_initial_values(*c, t, optim, seed, m, staging));
  }
  TSREC_RETURN_IF_ERROR(upload_layout(c->layout_, m));
  // cudaMemcpy from pageable memory may return before the data is on the device, and the
  // collection's stream does not wait for the default stream: finish the uploads here.
  TSREC_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize(), "the uploads of the collection's tables");
  *out = std::move(c);
  return Status::Ok();
}

CudaEmbeddingCollection::~CudaEmbeddingCollection() = default;

Status CudaEmbeddingCollection::ForwardImpl(const TbeBatch& batch, float* const* pooled_out, float* sequence) {
  float* pooled = pooled_out[0];  // one output (Create rejects more)
  Impl& m = *impl_;
  TSREC_RETURN_IF_ERROR(m.Enter());
  const int64_t pooled_floats = batch.batch_size * layout_.pooled_dim;
  const int64_t seq_floats = SequenceOutputSize(layout_, batch);
  if (pooled_floats > 0 && !pooled) return Status::InvalidArgument("the pooled output buffer is missing");
  if (seq_floats > 0 && !sequence) return Status::InvalidArgument("the sequence output buffer is missing");
  cuda::DevBatch db;
  TSREC_RETURN_IF_ERROR(m.Upload(layout_, batch, nullptr, 0, nullptr, 0, false, &db, nullptr));
  const size_t pooled_bytes = align_up(static_cast<size_t>(pooled_floats) * 4);
  TSREC_RETURN_IF_ERROR(
      m.out.Reserve(pooled_bytes + static_cast<size_t>(seq_floats) * 4 + kAlign, "the forward output"));
  float* d_pooled = static_cast<float*>(m.out.ptr);
  float* d_seq = reinterpret_cast<float*>(static_cast<char*>(m.out.ptr) + pooled_bytes);
  TSREC_CUDA_RETURN_IF_ERROR(cuda::LaunchForward(m.dev, db, d_pooled, d_seq, m.stream), "the TBE forward kernel");
  if (pooled_floats > 0)
    TSREC_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(pooled, d_pooled, static_cast<size_t>(pooled_floats) * 4, cudaMemcpyDeviceToHost, m.stream),
        "the pooled output download");
  if (seq_floats > 0)
    TSREC_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(sequence, d_seq, static_cast<size_t>(seq_floats) * 4, cudaMemcpyDeviceToHost, m.stream),
        "the sequence output download");
  return m.Finish("the TBE forward");
}

Status CudaEmbeddingCollection::BackwardImpl(const TbeBatch& batch, const float* const* grad_pooled_in,
                                             const float* grad_sequence, float lr) {
  const float* grad_pooled = grad_pooled_in ? grad_pooled_in[0] : nullptr;
  Impl& m = *impl_;
  TSREC_RETURN_IF_ERROR(m.Enter());
  const int64_t pooled_floats = batch.batch_size * layout_.pooled_dim;
  const int64_t seq_floats = SequenceOutputSize(layout_, batch);
  if (batch.num_indices > 0) {
    if (pooled_floats > 0 && !grad_pooled) return Status::InvalidArgument("the pooled gradient is missing");
    if (seq_floats > 0 && !grad_sequence) return Status::InvalidArgument("the sequence gradient is missing");
  }
  if (batch.num_indices == 0) {
    ++step_;  // as on the CPU: the step counts, no row changes
    return Status::Ok();
  }
  cuda::DevBatch db;
  const float* d_grads = nullptr;
  TSREC_RETURN_IF_ERROR(
      m.Upload(layout_, batch, grad_pooled, pooled_floats, grad_sequence, seq_floats, true, &db, &d_grads));
  const size_t need = cuda::BackwardScratchBytes(m.dev, batch.num_indices);
  TSREC_RETURN_IF_ERROR(m.scratch.Reserve(need, "the backward scratch"));
  TSREC_CUDA_RETURN_IF_ERROR(
      cuda::LaunchBackward(m.dev, optim_.type, optim_.max_gradient, MakeOptimStep(optim_, lr, step_ + 1), db, d_grads,
                           m.scratch.ptr, m.scratch.cap, m.stream),
      "the TBE backward kernels");
  ++step_;  // the update is enqueued: the step is taken
  return m.Finish("the TBE backward");
}

Status CudaEmbeddingCollection::CopyOut(int t, int which, int64_t start, int64_t count, float* dst) const {
  const int64_t offset = start * row_width(t, which), n = count * row_width(t, which);
  Impl& m = *impl_;
  const float* src = (which == kWeights ? m.weights[t] : m.states[t][which]) + offset;
  cudaError_t e = cudaSetDevice(m.device);
  if (e == cudaSuccess) e = cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToHost, m.stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(m.stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return cuda::CudaError(e, "a row read of table '" + layout_.tables[t].name + "'");
  }
  return Status::Ok();
}

Status CudaEmbeddingCollection::CopyIn(int t, int which, int64_t start, int64_t count, const float* src) {
  const int64_t offset = start * row_width(t, which), n = count * row_width(t, which);
  Impl& m = *impl_;
  float* dst = (which == kWeights ? m.weights[t] : m.states[t][which]) + offset;
  cudaError_t e = cudaSetDevice(m.device);
  if (e == cudaSuccess) e = cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * 4, cudaMemcpyHostToDevice, m.stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(m.stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return cuda::CudaError(e, "a row write of table '" + layout_.tables[t].name + "'");
  }
  return Status::Ok();
}

}  // namespace tsrec
