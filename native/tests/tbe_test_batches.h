// TBE batches, tables and features for the C++ tests (the CPU, CUDA and co-located suites share
// them): view_batch, the one place a TbeBatch is filled in, and random ones. Random batches:
// every feature's bags with random lengths (empty bags included), hot duplicated rows, the max
// valid index, optional zero and non-zero per-sample weights, int32 or int64 indices and
// offsets; random optimizer settings; CPU collections.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tsrec/embedding_collection.h"
#include "tsrec/tbe.h"

namespace tsrec_test {

using tsrec::FeatureConfig;
using tsrec::IndexType;
using tsrec::Pooling;
using tsrec::TableConfig;
using tsrec::TbeBatch;
using tsrec::TbeLayout;

/** Indices or offsets of a batch: a pointer, its dtype and its length (implicit from a vector, which must outlive it).
 */
struct IndexView {
  const void* data;
  IndexType type;
  int64_t size;
  IndexView(const std::vector<int32_t>& v)
      : data(v.data()), type(IndexType::kInt32), size(static_cast<int64_t>(v.size())) {}
  IndexView(const std::vector<int64_t>& v)
      : data(v.data()), type(IndexType::kInt64), size(static_cast<int64_t>(v.size())) {}
  IndexView(const int32_t* p, int64_t n) : data(p), type(IndexType::kInt32), size(n) {}
};

/** A TbeBatch of B samples over these indices and offsets (F*B+1 of them), weighted when `weights` is given. */
inline TbeBatch view_batch(IndexView indices, IndexView offsets, int64_t B, const float* weights = nullptr) {
  TbeBatch b;
  b.indices = indices.data;
  b.index_type = indices.type;
  b.num_indices = indices.size;
  b.offsets = offsets.data;
  b.offset_type = offsets.type;
  b.num_offsets = offsets.size;
  b.weights = weights;
  b.batch_size = B;
  return b;
}

struct RandomBatch {
  std::vector<int32_t> idx32;
  std::vector<int64_t> idx64;
  std::vector<int32_t> off32;
  std::vector<int64_t> off64;
  std::vector<float> weights;
  TbeBatch batch;
};

struct BatchSpec {
  int64_t B = 8;
  int max_bag = 4;
  bool int64_indices = false;
  bool int64_offsets = false;
  bool weighted = false;
  double dup_rate = 0.3;  // chance an id repeats one of a few hot rows
};

inline void make_batch(const TbeLayout& l, const BatchSpec& s, std::mt19937_64& rng, RandomBatch* rb) {
  const int64_t F = static_cast<int64_t>(l.features.size());
  std::vector<int64_t> ids, offs{0};
  for (int64_t f = 0; f < F; ++f) {
    const int64_t rows = l.tables[l.features[f].table].rows;
    for (int64_t b = 0; b < s.B; ++b) {
      int len = static_cast<int>(rng() % (s.max_bag + 1));  // includes empty bags
      for (int i = 0; i < len; ++i) {
        double u = std::uniform_real_distribution<double>(0, 1)(rng);
        int64_t id = u < s.dup_rate ? static_cast<int64_t>(rng() % std::min<int64_t>(rows, 3))
                                    : static_cast<int64_t>(rng() % rows);
        if (u > 0.95) id = rows - 1;  // max valid index
        ids.push_back(id);
      }
      offs.push_back(static_cast<int64_t>(ids.size()));
    }
  }
  rb->idx32.assign(ids.begin(), ids.end());
  rb->idx64 = ids;
  rb->off32.assign(offs.begin(), offs.end());
  rb->off64 = offs;
  rb->weights.clear();
  if (s.weighted)
    for (size_t i = 0; i < ids.size(); ++i)
      rb->weights.push_back(i % 7 == 0 ? 0.0f : std::uniform_real_distribution<float>(-2, 2)(rng));
  rb->batch = view_batch(s.int64_indices ? IndexView(rb->idx64) : IndexView(rb->idx32),
                         s.int64_offsets ? IndexView(rb->off64) : IndexView(rb->off32), s.B,
                         s.weighted ? rb->weights.data() : nullptr);
}

/**
 * T tables of 1-50 rows; dims from the usual set (with `any_dim` also 1, 2, 3, 5, 7, 13: the CPU
 * takes any dim), or wide ones (several float4 per CUDA lane).
 */
inline std::vector<TableConfig> random_tables(std::mt19937_64& rng, int T, bool wide = false, bool any_dim = false) {
  std::vector<TableConfig> t;
  const int dims[] = {4, 8, 12, 16, 20, 32, 64, 1, 2, 3, 5, 7, 13};
  const int wide_dims[] = {4, 132, 256, 516};  // more than one float4 per lane in the update warp
  for (int i = 0; i < T; ++i) {
    TableConfig c;
    c.name = "t" + std::to_string(i);
    c.rows = 1 + static_cast<int64_t>(rng() % 50);
    c.dim = wide ? wide_dims[rng() % 4] : dims[rng() % (any_dim ? 13 : 7)];
    t.push_back(c);
  }
  return t;
}

/** F features over T tables (every table used, extra features share), random pooling. */
inline std::vector<FeatureConfig> random_features(std::mt19937_64& rng, int T, int F) {
  std::vector<FeatureConfig> f;
  for (int i = 0; i < F; ++i) {
    FeatureConfig c;
    c.name = "f" + std::to_string(i);
    c.table = i < T ? i : static_cast<int32_t>(rng() % T);  // every table used; extras share
    c.pooling = static_cast<Pooling>(rng() % 3);
    f.push_back(c);
  }
  return f;
}

/**
 * A CPU collection; on failure null, with the status in `why` when given, else printed.
 */
inline std::unique_ptr<tsrec::CpuEmbeddingCollection> make_cpu_collection(const std::vector<TableConfig>& t,
                                                                          const std::vector<FeatureConfig>& f,
                                                                          const tsrec::OptimizerConfig& o,
                                                                          uint64_t seed, tsrec::Status* why = nullptr) {
  std::unique_ptr<tsrec::CpuEmbeddingCollection> c;
  tsrec::Status st = tsrec::CpuEmbeddingCollection::Create(t, f, o, seed, &c);
  if (why)
    *why = st;
  else if (!st.ok())
    std::fprintf(stderr, "create failed: %s\n", st.message().c_str());
  return c;
}

/** Optimizer `type` (an OptimType value) with random weight decay, clipping, max_norm and initial accumulator. */
inline tsrec::OptimizerConfig random_optimizer(int type, std::mt19937_64& rng) {
  using tsrec::WeightDecayMode;
  tsrec::OptimizerConfig o;
  o.type = static_cast<tsrec::OptimType>(type);
  o.weight_decay_mode = static_cast<WeightDecayMode>(rng() % 3);
  o.weight_decay = o.weight_decay_mode == WeightDecayMode::kNone ? 0.0f : 0.01f;
  o.max_gradient = rng() % 2 ? 0.05f : 0.0f;
  o.max_norm = rng() % 3 == 0 ? 0.05f : 0.0f;
  o.initial_accumulator_value = rng() % 2 ? 0.1f : 0.0f;
  return o;
}

}  // namespace tsrec_test
