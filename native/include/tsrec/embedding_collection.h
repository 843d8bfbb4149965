// EmbeddingCollection: tables + optimizer state in native memory, and the TBE entry points.
// One abstract interface, two placements: CpuEmbeddingCollection (host memory, zero-copy
// views for JS) and CudaEmbeddingCollection (device memory, tbe_cuda.h).
#pragma once
#include <memory>
#include <vector>

#include "tsrec/host_buffer.h"
#include "tsrec/optim.h"
#include "tsrec/tbe.h"
#include "tsrec/tbe_cpu.h"

namespace tsrec {

/** Where a collection's tables live. Values are part of the JS API. */
enum class Device : int32_t { kCpu = 0, kCuda = 1 };

/** Which buffer of a table a row accessor addresses: the weights or optimizer state k. */
constexpr int kWeights = -1;

/** Tables, optimizer state and step counter, wherever they live. Every entry validates first. */
class EmbeddingCollection {
 public:
  virtual ~EmbeddingCollection() = default;
  virtual Device device() const = 0;

  const TbeLayout& layout() const { return layout_; }
  const OptimizerConfig& optimizer() const { return optim_; }
  int num_tables() const { return static_cast<int>(layout_.tables.size()); }
  /** Optimizer state buffers per table: row-wise Adagrad 1 of `rows`; Adagrad 1, Adam 2 of rows x dim. */
  int num_states() const { return (has_row_state(optim_.type) ? 1 : 0) + elem_states(optim_.type); }
  /** Floats per row of buffer `which` (kWeights or a state index) of table t. */
  int64_t row_width(int t, int which) const;
  /** Bytes of weights + state of table t. */
  size_t table_bytes(int t) const;

  /** Optimizer steps taken so far (Adam's bias correction uses it); restored from checkpoints. */
  int64_t step() const { return step_; }
  void set_step(int64_t s) { step_ = s; }

  /**
   * Validates the batch, then writes each pooled output o ([B, pooled_dims[o]], `num_pooled` ==
   * layout().num_outputs() pointers) and the sequence block (host memory).
   */
  Status Forward(const TbeBatch& batch, float* const* pooled, int num_pooled, float* sequence);
  /** Forward of a collection with one pooled output. */
  Status Forward(const TbeBatch& batch, float* pooled, float* sequence) { return Forward(batch, &pooled, 1, sequence); }
  /** Validates, then applies the fused backward + optimizer with learning rate lr (host gradients, one per output). */
  Status BackwardAndUpdate(const TbeBatch& batch, const float* const* grad_pooled, int num_pooled,
                           const float* grad_sequence, float lr);
  /** Backward of a collection with one pooled output. */
  Status BackwardAndUpdate(const TbeBatch& batch, const float* grad_pooled, const float* grad_sequence, float lr) {
    return BackwardAndUpdate(batch, &grad_pooled, 1, grad_sequence, lr);
  }
  /** Copies rows [start, start+count) of buffer `which` of table t to dst (host). */
  Status ReadRows(int t, int which, int64_t start, int64_t count, float* dst) const;
  /** Overwrites rows [start, start+count) of buffer `which` of table t from src (host). */
  Status WriteRows(int t, int which, int64_t start, int64_t count, const float* src);

 protected:
  Status Init(std::vector<TableConfig> tables, std::vector<FeatureConfig> features, const OptimizerConfig& optim);
  Status CheckRows(int t, int which, int64_t start, int64_t count) const;
  /** Forward/backward on a validated batch with num_outputs() pooled pointers. */
  virtual Status ForwardImpl(const TbeBatch& batch, float* const* pooled, float* sequence) = 0;
  virtual Status BackwardImpl(const TbeBatch& batch, const float* const* grad_pooled, const float* grad_sequence,
                              float lr) = 0;
  /** Copies rows [start, start+count) of buffer `which` of table t out / in (checked). */
  virtual Status CopyOut(int t, int which, int64_t start, int64_t count, float* dst) const = 0;
  virtual Status CopyIn(int t, int which, int64_t start, int64_t count, const float* src) = 0;
  TbeLayout layout_;
  OptimizerConfig optim_;
  int64_t step_ = 0;
};

/** Host-memory collection with the fused multi-threaded CPU kernels. */
class CpuEmbeddingCollection final : public EmbeddingCollection {
 public:
  /** Validates the configs, allocates and initialises every table (seeded, thread-independent). */
  static Status Create(std::vector<TableConfig> tables, std::vector<FeatureConfig> features,
                       const OptimizerConfig& optim, uint64_t seed, std::unique_ptr<CpuEmbeddingCollection>* out);
  Device device() const override { return Device::kCpu; }
  /**
   * Buffer `which` of table t (shared so zero-copy JS views keep it alive). The weights of a
   * table with co-located tables (or of a co-located table) are the host's interleaved rows:
   * check contiguous() before viewing them as one table.
   */
  const std::shared_ptr<HostBuffer>& buffer(int t, int which) const {
    return which == kWeights ? weights_[t] : states_[t][which];
  }
  /** Whether buffer `which` of table t holds exactly that table, rows x width, from its start. */
  bool contiguous(int t, int which) const { return which != kWeights || layout_.stride[t] == layout_.tables[t].dim; }
  /** Raw pointers of every table, for the kernels and references (stable for the collection's life). */
  const TbeTables& tables() const { return tabs_; }

 private:
  CpuEmbeddingCollection() = default;
  Status ForwardImpl(const TbeBatch& batch, float* const* pooled, float* sequence) override;
  Status BackwardImpl(const TbeBatch& batch, const float* const* grad_pooled, const float* grad_sequence,
                      float lr) override;
  Status CopyOut(int t, int which, int64_t start, int64_t count, float* dst) const override;
  Status CopyIn(int t, int which, int64_t start, int64_t count, const float* src) override;
  std::vector<std::shared_ptr<HostBuffer>> weights_;
  std::vector<std::vector<std::shared_ptr<HostBuffer>>> states_;
  TbeTables tabs_;
  TbeBackwardWorkspace workspace_;
};

/** The parameters of optimizer step t (t >= 1) with learning rate lr. */
OptimStep MakeOptimStep(const OptimizerConfig& c, float lr, int64_t t);

/** Fills `n` floats with elements [first, first + n) of a counter-based uniform [lo, hi) stream (seed, stream). */
void FillUniform(float* dst, int64_t n, float lo, float hi, uint64_t seed, uint64_t stream, int64_t first = 0);
/**
 * FillUniform of rows x dim values into rows `stride` floats apart (value (r, d) is element
 * (first_row + r)*dim + d of the stream).
 */
void FillUniformRows(float* dst, int64_t rows, int dim, int64_t stride, float lo, float hi, uint64_t seed,
                     uint64_t stream, int64_t first_row = 0);

/** Fills `n` floats with v (multi-threaded). */
void FillConstant(float* dst, int64_t n, float v);

/**
 * The initial buffers of table t: weights from (seed, tc.init_stream or t, from row
 * tc.init_first_row) into rows `stride` floats apart (0:
 * dim), states at their initial values.
 */
void InitTableHost(const TableConfig& tc, const OptimizerConfig& optim, uint64_t seed, int t, float* weights,
                   std::vector<float*> states, int64_t stride = 0);
/**
 * Rows [first_row, first_row + rows) of InitTableHost's buffers of table t (own rows, dim
 * floats apart), bit for bit: weights into `weights`, each state into states[k] (row-wise
 * state: `rows` floats; element states: rows x dim). Lets a caller stage a large table in chunks.
 */
void InitTableRowsHost(const TableConfig& tc, const OptimizerConfig& optim, uint64_t seed, int t, int64_t first_row,
                       int64_t rows, float* weights, const std::vector<float*>& states);

}  // namespace tsrec
