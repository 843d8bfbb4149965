#include "tsrec/embedding_collection.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tsrec {

namespace {
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

void FillConstant(float* dst, int64_t n, float v) {
  ThreadPool::global().parallel_for(n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) dst[i] = v;
  });
}

namespace {
// Element i of stream `key`, for i in [i0, i0 + n): vectorisable (no dependence between elements).
inline void fill_uniform_span(float* dst, uint64_t i0, int64_t n, uint64_t key, float lo, float span) {
  for (int64_t j = 0; j < n; ++j) {
    const uint64_t r = splitmix64(key + (i0 + static_cast<uint64_t>(j)) * 0x9E3779B97F4A7C15ull);
    dst[j] = lo + span * (static_cast<float>(r >> 40) * (1.0f / 16777216.0f));
  }
}
inline uint64_t stream_key(uint64_t seed, uint64_t stream) {
  return splitmix64(seed ^ splitmix64(stream + 0x5851F42D4C957F2Dull));
}
}  // namespace

void FillUniformRows(float* dst, int64_t rows, int dim, int64_t stride, float lo, float hi, uint64_t seed,
                     uint64_t stream, int64_t first_row) {
  const uint64_t key = stream_key(seed, stream);
  // Value (r, d) depends only on (seed, stream, r * dim + d): identical for any thread count
  // and any row stride. Generated a block of rows at a time (vectorised), then placed.
  ThreadPool::global().parallel_for(rows, [&](int64_t b, int64_t e, int) {
    constexpr int64_t kBlock = 1024;
    std::vector<float> tmp(static_cast<size_t>(kBlock * dim));
    for (int64_t r0 = b; r0 < e; r0 += kBlock) {
      const int64_t n = std::min(kBlock, e - r0);
      fill_uniform_span(tmp.data(), static_cast<uint64_t>((first_row + r0) * dim), n * dim, key, lo, hi - lo);
      for (int64_t r = 0; r < n; ++r) std::memcpy(dst + (r0 + r) * stride, tmp.data() + r * dim, sizeof(float) * dim);
    }
  });
}

void FillUniform(float* dst, int64_t n, float lo, float hi, uint64_t seed, uint64_t stream, int64_t first) {
  const uint64_t key = stream_key(seed, stream);
  // Element i's value depends only on (seed, stream, i): identical for any thread count.
  ThreadPool::global().parallel_for(n, [&](int64_t b, int64_t e, int) {
    fill_uniform_span(dst + b, static_cast<uint64_t>(first + b), e - b, key, lo, hi - lo);
  });
}

namespace {
void init_range(const TableConfig& tc, float* lo, float* hi) {
  *lo = tc.init_min;
  *hi = tc.init_max;
  if (*lo == 0.0f && *hi == 0.0f) {
    const int64_t rows = tc.init_rows > 0 ? tc.init_rows : tc.rows;
    *hi = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rows)));
    *lo = -*hi;
  }
}
uint64_t init_stream(const TableConfig& tc, int t) {
  return static_cast<uint64_t>(tc.init_stream >= 0 ? tc.init_stream : t);
}
void init_states(const TableConfig& tc, const OptimizerConfig& optim, int64_t rows, const std::vector<float*>& states) {
  size_t k = 0;
  if (has_row_state(optim.type)) FillConstant(states[k++], rows, optim.initial_accumulator_value);
  for (int e = 0; e < elem_states(optim.type); ++e)
    FillConstant(states[k++], rows * tc.dim,
                 optim.type == OptimType::kAdagrad ? optim.initial_accumulator_value : 0.0f);
}
}  // namespace

void InitTableHost(const TableConfig& tc, const OptimizerConfig& optim, uint64_t seed, int t, float* weights,
                   std::vector<float*> states, int64_t stride) {
  if (stride == 0 || stride == tc.dim) return InitTableRowsHost(tc, optim, seed, t, 0, tc.rows, weights, states);
  float lo, hi;
  init_range(tc, &lo, &hi);
  FillUniformRows(weights, tc.rows, tc.dim, stride, lo, hi, seed, init_stream(tc, t), tc.init_first_row);
  init_states(tc, optim, tc.rows, states);
}

void InitTableRowsHost(const TableConfig& tc, const OptimizerConfig& optim, uint64_t seed, int t, int64_t first_row,
                       int64_t rows, float* weights, const std::vector<float*>& states) {
  float lo, hi;
  init_range(tc, &lo, &hi);
  FillUniform(weights, rows * tc.dim, lo, hi, seed, init_stream(tc, t), (tc.init_first_row + first_row) * tc.dim);
  init_states(tc, optim, rows, states);
}

OptimStep MakeOptimStep(const OptimizerConfig& c, float lr, int64_t t) {
  OptimStep p{};
  p.lr = lr;
  p.eps = c.eps;
  p.beta1 = c.beta1;
  p.beta2 = c.beta2;
  p.weight_decay = c.weight_decay;
  p.wd_mode = c.weight_decay_mode;
  p.max_norm = c.max_norm;
  p.bias_correction1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(c.beta1), static_cast<double>(t)));
  p.bias_correction2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(c.beta2), static_cast<double>(t)));
  p.inv_dim = 1.0f;
  return p;
}

// ---- EmbeddingCollection (shared) ----

Status EmbeddingCollection::Init(std::vector<TableConfig> tables, std::vector<FeatureConfig> features,
                                 const OptimizerConfig& optim) {
  TSREC_RETURN_IF_ERROR(TbeLayout::Make(std::move(tables), std::move(features), &layout_));
  if (!(optim.eps > 0))
    return Status::InvalidArgument("Expected eps > 0 for the optimizer but received " + std::to_string(optim.eps));
  if (optim.type == OptimType::kAdam && !(optim.beta1 >= 0 && optim.beta1 < 1 && optim.beta2 >= 0 && optim.beta2 < 1))
    return Status::InvalidArgument("Expected 0 <= beta1, beta2 < 1 for adam");
  optim_ = optim;
  return Status::Ok();
}

int64_t EmbeddingCollection::row_width(int t, int which) const {
  if (which == kWeights) return layout_.tables[t].dim;
  return (which == 0 && has_row_state(optim_.type)) ? 1 : layout_.tables[t].dim;
}

size_t EmbeddingCollection::table_bytes(int t) const {
  size_t b = 0;
  for (int k = kWeights; k < num_states(); ++k)
    b += static_cast<size_t>(layout_.tables[t].rows * row_width(t, k)) * sizeof(float);
  return b;
}

Status EmbeddingCollection::CheckRows(int t, int which, int64_t start, int64_t count) const {
  if (t < 0 || t >= num_tables())
    return Status::OutOfRange("Expected a table index in [0, " + std::to_string(num_tables()) + ") but received " +
                              std::to_string(t));
  if (which < kWeights || which >= num_states())
    return Status::OutOfRange("Expected a state index in [0, " + std::to_string(num_states()) + ") for optimizer " +
                              optim_name(optim_.type) + " but received " + std::to_string(which));
  const int64_t rows = layout_.tables[t].rows;
  if (start < 0 || count < 0 || start + count > rows)
    return Status::OutOfRange("rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                              ") are out of range for table '" + layout_.tables[t].name + "' with " +
                              std::to_string(rows) + " rows");
  return Status::Ok();
}

Status EmbeddingCollection::ReadRows(int t, int which, int64_t start, int64_t count, float* dst) const {
  TSREC_RETURN_IF_ERROR(CheckRows(t, which, start, count));
  return CopyOut(t, which, start, count, dst);
}

Status EmbeddingCollection::WriteRows(int t, int which, int64_t start, int64_t count, const float* src) {
  TSREC_RETURN_IF_ERROR(CheckRows(t, which, start, count));
  return CopyIn(t, which, start, count, src);
}

namespace {

/** Index of the first NaN or infinity of x[0, n), or -1: a vectorisable scan of exponent bits, then the search. */
int64_t FirstNonFinite(const float* x, int64_t n) {
  if (!x || n <= 0) return -1;
  constexpr uint32_t kExp = 0x7f800000u;
  for (int64_t start = 0; start < n; start += 4096) {
    const int64_t end = std::min(n, start + 4096);
    uint32_t any = 0;
    for (int64_t i = start; i < end; ++i) {
      uint32_t b;
      std::memcpy(&b, x + i, 4);
      any |= static_cast<uint32_t>((b & kExp) == kExp);
    }
    if (any)
      for (int64_t i = start; i < end; ++i)
        if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

}  // namespace

Status EmbeddingCollection::Forward(const TbeBatch& batch, float* const* pooled, int num_pooled, float* sequence) {
  if (num_pooled != layout_.num_outputs())
    return Status::InvalidArgument("Expected " + std::to_string(layout_.num_outputs()) +
                                   " pooled outputs but received " + std::to_string(num_pooled));
  TSREC_RETURN_IF_ERROR(ValidateBatch(layout_, batch));
  return ForwardImpl(batch, pooled, sequence);
}

Status EmbeddingCollection::BackwardAndUpdate(const TbeBatch& batch, const float* const* grad_pooled, int num_pooled,
                                              const float* grad_sequence, float lr) {
  if (num_pooled != layout_.num_outputs())
    return Status::InvalidArgument("Expected " + std::to_string(layout_.num_outputs()) +
                                   " pooled gradients but received " + std::to_string(num_pooled));
  TSREC_RETURN_IF_ERROR(ValidateBatch(layout_, batch));
  if (!std::isfinite(lr))
    return Status::InvalidArgument("Expected a finite learning rate but received " + std::to_string(lr));
  // A NaN or infinite gradient would poison the rows it touches and their optimizer state for
  // good: refuse the whole update instead (no row changes).
  for (int o = 0; o < num_pooled; ++o) {
    const int64_t dim = layout_.pooled_dims[o];
    const int64_t i = grad_pooled ? FirstNonFinite(grad_pooled[o], batch.batch_size * dim) : -1;
    if (i >= 0)
      return Status::InvalidArgument("Expected finite gradients but pooled gradient " + std::to_string(o) + " holds " +
                                     std::to_string(grad_pooled[o][i]) + " at sample " + std::to_string(i / dim) +
                                     ", column " + std::to_string(i % dim) + "; no row was updated");
  }
  const int64_t seq = grad_sequence ? FirstNonFinite(grad_sequence, SequenceOutputSize(layout_, batch)) : -1;
  if (seq >= 0)
    return Status::InvalidArgument("Expected finite gradients but the sequence gradient holds " +
                                   std::to_string(grad_sequence[seq]) + " at index " + std::to_string(seq) +
                                   "; no row was updated");
  return BackwardImpl(batch, grad_pooled, grad_sequence, lr);
}

// ---- CpuEmbeddingCollection ----

Status CpuEmbeddingCollection::Create(std::vector<TableConfig> tables, std::vector<FeatureConfig> features,
                                      const OptimizerConfig& optim, uint64_t seed,
                                      std::unique_ptr<CpuEmbeddingCollection>* out) {
  std::unique_ptr<CpuEmbeddingCollection> c(new CpuEmbeddingCollection());
  TSREC_RETURN_IF_ERROR(c->Init(std::move(tables), std::move(features), optim));
  const int T = c->num_tables();
  const TbeLayout& l = c->layout_;
  c->weights_.resize(T);
  c->states_.resize(T);
  // Hosts (and tables of their own) first: a co-located table's weights are its host's rows.
  for (int t = 0; t < T; ++t) {
    if (l.tables[t].host != -1) continue;
    const int64_t n = l.tables[t].rows * l.stride[t];
    auto buf = HostBuffer::Allocate(n);
    if (!buf)
      return Status::Unavailable("could not allocate " + std::to_string(n * 4) + " bytes for table '" +
                                 l.tables[t].name + "'");
    for (int32_t m : l.members[t]) c->weights_[m] = buf;
  }
  for (int t = 0; t < T; ++t) {
    const auto& tc = l.tables[t];
    for (int k = 0; k < c->num_states(); ++k) {
      const int64_t n = tc.rows * c->row_width(t, k);
      auto buf = HostBuffer::Allocate(n);
      if (!buf)
        return Status::Unavailable("could not allocate " + std::to_string(n * 4) + " bytes for table '" + tc.name +
                                   "'");
      c->states_[t].push_back(buf);
    }
    std::vector<float*> st;
    for (auto& s : c->states_[t]) st.push_back(s->data());
    float* w = c->weights_[t]->data() + l.row_offset[t];
    InitTableHost(tc, optim, seed, t, w, st, l.stride[t]);
    c->tabs_.weights.push_back(w);
    c->tabs_.state.push_back(st);
  }
  *out = std::move(c);
  return Status::Ok();
}

Status CpuEmbeddingCollection::CopyOut(int t, int which, int64_t start, int64_t count, float* dst) const {
  const int64_t w = row_width(t, which);
  if (contiguous(t, which)) {
    std::memcpy(dst, buffer(t, which)->data() + start * w, sizeof(float) * count * w);
  } else {
    const int64_t stride = layout_.stride[t];
    const float* src = tabs_.weights[t] + start * stride;
    for (int64_t r = 0; r < count; ++r) std::memcpy(dst + r * w, src + r * stride, sizeof(float) * w);
  }
  return Status::Ok();
}
Status CpuEmbeddingCollection::CopyIn(int t, int which, int64_t start, int64_t count, const float* src) {
  const int64_t w = row_width(t, which);
  if (contiguous(t, which)) {
    std::memcpy(buffer(t, which)->data() + start * w, src, sizeof(float) * count * w);
  } else {
    const int64_t stride = layout_.stride[t];
    float* dst = tabs_.weights[t] + start * stride;
    for (int64_t r = 0; r < count; ++r) std::memcpy(dst + r * stride, src + r * w, sizeof(float) * w);
  }
  return Status::Ok();
}

Status CpuEmbeddingCollection::ForwardImpl(const TbeBatch& batch, float* const* pooled, float* sequence) {
  static const TbeForwardOrder order = ForwardOrderFromEnv();
  TbeForwardCpu(layout_, tables(), batch, pooled, sequence, ThreadPool::global(), order);
  return Status::Ok();
}

Status CpuEmbeddingCollection::BackwardImpl(const TbeBatch& batch, const float* const* grad_pooled,
                                            const float* grad_sequence, float lr) {
  ++step_;
  TbeBackwardCpu(layout_, tables(), optim_, MakeOptimStep(optim_, lr, step_), batch, grad_pooled, grad_sequence,
                 workspace_, ThreadPool::global());
  return Status::Ok();
}

}  // namespace tsrec
