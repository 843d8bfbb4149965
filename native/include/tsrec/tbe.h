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

/** One embedding table. */
struct TableConfig {
  std::string name;
  int64_t rows = 0;
  int32_t dim = 0;
  /** Uniform initialisation range; init_min == init_max == 0 means +-1/sqrt(rows). */
  float init_min = 0.0f;
  float init_max = 0.0f;
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
  std::vector<int64_t> pooled_col;   // per feature: first column in pooled output (-1 for NONE)
  int64_t pooled_dim = 0;            // sum of dims of pooled features
  std::vector<std::vector<int32_t>> table_features;  // per table: features reading it

  /** Builds the layout, checking names, dims (> 0, multiple of 4), rows (> 0), table refs. */
  static Status Make(std::vector<TableConfig> tables, std::vector<FeatureConfig> features, TbeLayout* out);
  int32_t dim_of_feature(int f) const { return tables[features[f].table].dim; }
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
