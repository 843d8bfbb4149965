// Table-batched embedding (TBE): the contract shared by the CPU and CUDA implementations.
//
// A collection holds T tables (rows x dim, fp32) and F features; feature f reads table
// feature_table[f] with its own pooling (several features may share one table, as TorchEasyRec's
// `embedding_name`). One batch of B samples is given as
//   indices  [nnz]        int32 or int64 row ids, feature-major
//   offsets  [F*B + 1]    int32 or int64; bag (f, b) is indices[offsets[f*B+b] .. offsets[f*B+b+1])
//   weights  [nnz] | null per-sample weights
// Forward writes
//   pooled   [B, sum of dim over pooled features]   SUM / MEAN features, in feature order
//   sequence [sum over NONE features of nnz_f * dim] NONE features, feature order, bag order
// MEAN divides by the bag length; an empty bag gives zeros. Weighted: sum_i w_i * W[idx_i].
// The fused backward applies the optimizer with "exact" semantics: per table, indices are
// sorted and deduplicated, g_r = sum_i w_i * s_i * dL/dout[bag(i)] (s_i = 1/L for MEAN), and each
// unique row is updated once; rows absent from the batch are untouched; results are
// deterministic (independent of the thread count).
//
// Co-location: a table may name a host table with the same row count (TableConfig::host). Its
// rows then live inside the host's rows (row r of the host is [host dims | guest dims ...], so
// one random access fetches both), features read the host table only, and each such feature
// also pools every guest's columns. Every table writes to pooled output `output` (several
// [B, pooled_dims[o]] arrays; one by default). Results equal those of separate tables: each
// logical table keeps its own columns, optimizer state and arithmetic (DeepFM's `<t>_wide`
// tables ride in their deep table's rows this way, native/bench/NOTES.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tsrec/optim.h"
#include "tsrec/status.h"

namespace tsrec {

/** Pooling of one feature. Values are part of the JS API. */
enum class Pooling : int32_t { kSum = 0, kMean = 1, kNone = 2 };

/** Integer type of an index or offset array. */
enum class IndexType : int32_t { kInt32 = 0, kInt64 = 1 };

/** Most pooled outputs a collection may have. */
constexpr int32_t kMaxPooledOutputs = 8;

/** One embedding table. */
struct TableConfig {
  std::string name;
  int64_t rows = 0;
  int32_t dim = 0;
  /** Uniform initialisation range; init_min == init_max == 0 means +-1/sqrt(rows). */
  float init_min = 0.0f;
  float init_max = 0.0f;
  /** Host table whose rows hold this table's columns (-1: a table of its own). */
  int32_t host = -1;
  /** Pooled output this table's columns go to. */
  int32_t output = 0;
  /**
   * Where the initial values come from, so a process holding part of a model starts from the
   * bits of the whole: the uniform stream (-1: the table's index in this collection), the first
   * row of the logical table these rows are (a row-wise shard starts past 0), and the logical
   * table's rows for the default range +-1/sqrt(rows) (0: `rows`).
   */
  int32_t init_stream = -1;
  int64_t init_first_row = 0;
  int64_t init_rows = 0;
};

/** One feature: which table it reads and how its bags are pooled. */
struct FeatureConfig {
  std::string name;
  int32_t table = 0;
  Pooling pooling = Pooling::kSum;
};

/** Derived geometry of a collection: column offsets of pooled features, etc. */
struct TbeLayout {
  std::vector<TableConfig> tables;
  std::vector<FeatureConfig> features;
  std::vector<int64_t> pooled_col;   // per feature: first column of its table in that table's output (-1 for NONE)
  int64_t pooled_dim = 0;            // columns of output 0
  std::vector<int64_t> pooled_dims;  // per output: its columns
  std::vector<std::vector<int32_t>> table_features;  // per table: features reading it
  std::vector<int32_t> stride;      // per table: floats from one row to the next (its host's row width)
  std::vector<int32_t> row_offset;  // per table: its first float within a (host) row
  /** Per table read by features: the tables pooled from its rows, itself first (empty for a guest). */
  std::vector<std::vector<int32_t>> members;
  /** Per feature: the first column of each member of its table, in that member's output (-1 for NONE). */
  std::vector<std::vector<int64_t>> member_col;
  bool co_located = false;  // some table has a host

  /** Builds the layout, checking names, dims (> 0; the CUDA collection also wants multiples of 4), rows (> 0), table
   * refs. */
  static Status Make(std::vector<TableConfig> tables, std::vector<FeatureConfig> features, TbeLayout* out);
  int32_t dim_of_feature(int f) const { return tables[features[f].table].dim; }
  int num_outputs() const { return static_cast<int>(pooled_dims.size()); }
};

/** A batch's host-side views. Pointers are not owned. */
struct TbeBatch {
  const void* indices = nullptr;
  IndexType index_type = IndexType::kInt32;
  int64_t num_indices = 0;
  const void* offsets = nullptr;
  IndexType offset_type = IndexType::kInt32;
  int64_t num_offsets = 0;
  const float* weights = nullptr;  // null or num_indices values
  int64_t batch_size = 0;

  /** offsets[k] as int64 whatever the dtype. */
  int64_t offset(int64_t k) const {
    return offset_type == IndexType::kInt32 ? static_cast<const int32_t*>(offsets)[k]
                                            : static_cast<const int64_t*>(offsets)[k];
  }
  int64_t index(int64_t i) const {
    return index_type == IndexType::kInt32 ? static_cast<const int32_t*>(indices)[i]
                                           : static_cast<const int64_t*>(indices)[i];
  }
};

/**
 * Checks a batch against a layout before any memory is touched: offsets length F*B+1,
 * offsets[0] == 0, non-decreasing, offsets[F*B] == nnz, every index in [0, rows of its table).
 * The message names the feature, table, position and value.
 */
Status ValidateBatch(const TbeLayout& layout, const TbeBatch& batch);

/** Number of floats of the sequence (NONE-pooled) output for this batch. */
int64_t SequenceOutputSize(const TbeLayout& layout, const TbeBatch& batch);

/** Per-feature start (in floats) of each NONE feature's block in the sequence output. */
void SequenceOffsets(const TbeLayout& layout, const TbeBatch& batch, std::vector<int64_t>* out);

}  // namespace tsrec
