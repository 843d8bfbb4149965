// Random TBE batches for the C++ tests (CPU and CUDA suites share one generator): every
// feature's bags with random lengths (empty bags included), hot duplicated rows, the max valid
// index, optional zero and non-zero per-sample weights, int32 or int64 indices and offsets.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "tsrec/tbe.h"

namespace tsrec_test {

using tsrec::IndexType;
using tsrec::TbeBatch;
using tsrec::TbeLayout;

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

void make_batch(const TbeLayout& l, const BatchSpec& s, std::mt19937_64& rng, RandomBatch* rb) {
  const int64_t F = static_cast<int64_t>(l.features.size());
  std::vector<int64_t> ids, offs{0};
  for (int64_t f = 0; f < F; ++f) {
    const int64_t rows = l.tables[l.features[f].table].rows;
    for (int64_t b = 0; b < s.B; ++b) {
      int len = static_cast<int>(rng() % (s.max_bag + 1));  // includes empty bags
      for (int i = 0; i < len; ++i) {
        double u = std::uniform_real_distribution<double>(0, 1)(rng);
        int64_t id = u < s.dup_rate ? static_cast<int64_t>(rng() % std::min<int64_t>(rows, 3)) : static_cast<int64_t>(rng() % rows);
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
    for (size_t i = 0; i < ids.size(); ++i) rb->weights.push_back(i % 7 == 0 ? 0.0f : std::uniform_real_distribution<float>(-2, 2)(rng));
  TbeBatch& b = rb->batch;
  b.index_type = s.int64_indices ? IndexType::kInt64 : IndexType::kInt32;
  b.indices = s.int64_indices ? static_cast<const void*>(rb->idx64.data()) : rb->idx32.data();
  b.num_indices = static_cast<int64_t>(ids.size());
  b.offset_type = s.int64_offsets ? IndexType::kInt64 : IndexType::kInt32;
  b.offsets = s.int64_offsets ? static_cast<const void*>(rb->off64.data()) : rb->off32.data();
  b.num_offsets = static_cast<int64_t>(offs.size());
  b.weights = s.weighted ? rb->weights.data() : nullptr;
  b.batch_size = s.B;
}

}  // namespace tsrec_test
