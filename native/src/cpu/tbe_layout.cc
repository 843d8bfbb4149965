// Layout construction and batch validation: the one checker every TBE entry point calls
// before it touches memory (CPU and CUDA paths alike).
#include <algorithm>
#include <cmath>
#include <sstream>
#include <unordered_set>

#include "tsrec/tbe.h"

namespace tsrec {

Status TbeLayout::Make(std::vector<TableConfig> tables, std::vector<FeatureConfig> features, TbeLayout* out) {
  if (tables.empty()) return Status::InvalidArgument("an embedding collection needs at least one table");
  std::unordered_set<std::string> names;
  for (size_t t = 0; t < tables.size(); ++t) {
    const auto& tc = tables[t];
    std::ostringstream where;
    where << "table '" << tc.name << "' (table " << t << ")";
    if (!names.insert(tc.name).second) return Status::InvalidArgument("duplicate table name '" + tc.name + "'");
    if (tc.rows <= 0)
      return Status::InvalidArgument("Expected rows > 0 for " + where.str() + " but received " +
                                     std::to_string(tc.rows));
    if (tc.rows > 0xffffffffll)
      return Status::InvalidArgument("Expected rows < 2^32 for " + where.str() + " but received " +
                                     std::to_string(tc.rows));
    if (tc.dim <= 0)
      return Status::InvalidArgument("Expected dim > 0 for " + where.str() + " but received " + std::to_string(tc.dim));
    if (tc.init_min > tc.init_max) return Status::InvalidArgument("Expected init_min <= init_max for " + where.str());
  }
  if (features.empty()) {
    return Status::InvalidArgument("an embedding collection needs at least one feature");
  }
  TbeLayout l;
  const int32_t T = static_cast<int32_t>(tables.size());
  l.table_features.resize(T);
  l.members.resize(T);
  l.stride.resize(T);
  l.row_offset.assign(T, 0);
  int32_t outputs = 1;
  for (int32_t t = 0; t < T; ++t) {
    const auto& tc = tables[t];
    if (tc.output < 0 || tc.output >= kMaxPooledOutputs)
      return Status::InvalidArgument("Expected an output in [0, " + std::to_string(kMaxPooledOutputs) +
                                     ") for table '" + tc.name + "' but received " + std::to_string(tc.output));
    outputs = std::max(outputs, tc.output + 1);
    if (tc.host == -1) continue;
    if (tc.host < 0 || tc.host >= T || tc.host == t)
      return Status::InvalidArgument("table '" + tc.name + "' names host table " + std::to_string(tc.host) +
                                     " but the collection has " + std::to_string(T) +
                                     " tables (and a table cannot host itself)");
    const auto& hc = tables[tc.host];
    if (hc.host != -1)
      return Status::InvalidArgument("table '" + tc.name + "' is co-located with '" + hc.name +
                                     "', which is itself co-located with '" + tables[hc.host].name +
                                     "': a host table must have rows of its own");
    if (hc.rows != tc.rows)
      return Status::InvalidArgument("Expected the rows of co-located table '" + tc.name +
                                     "' to equal those of its host '" + hc.name + "' (" + std::to_string(hc.rows) +
                                     ") but received " + std::to_string(tc.rows));
    l.co_located = true;
  }
  for (int32_t t = 0; t < T; ++t) {
    if (tables[t].host != -1) continue;
    l.members[t].push_back(t);
    int32_t width = tables[t].dim;
    for (int32_t g = 0; g < T; ++g) {
      if (tables[g].host != t) continue;
      l.members[t].push_back(g);
      l.row_offset[g] = width;
      width += tables[g].dim;
    }
    for (int32_t m : l.members[t]) l.stride[m] = width;
  }
  l.pooled_dims.assign(outputs, 0);
  names.clear();
  for (size_t f = 0; f < features.size(); ++f) {
    const auto& fc = features[f];
    if (!names.insert(fc.name).second) return Status::InvalidArgument("duplicate feature name '" + fc.name + "'");
    if (fc.table < 0 || fc.table >= static_cast<int32_t>(tables.size()))
      return Status::InvalidArgument("feature '" + fc.name + "' names table " + std::to_string(fc.table) +
                                     " but the collection has " + std::to_string(tables.size()) + " tables");
    if (fc.pooling != Pooling::kSum && fc.pooling != Pooling::kMean && fc.pooling != Pooling::kNone)
      return Status::InvalidArgument("feature '" + fc.name + "' has an unknown pooling " +
                                     std::to_string(static_cast<int>(fc.pooling)));
    const auto& tc = tables[fc.table];
    if (tc.host != -1)
      return Status::InvalidArgument("feature '" + fc.name + "' reads table '" + tc.name +
                                     "', which is co-located with '" + tables[tc.host].name +
                                     "': features read the host table and pool the co-located tables' columns with it");
    if (fc.pooling == Pooling::kNone && l.members[fc.table].size() > 1)
      return Status::InvalidArgument("feature '" + fc.name + "' has pooling NONE but its table '" + tc.name +
                                     "' hosts co-located tables (only pooled features may read such a table)");
    l.table_features[fc.table].push_back(static_cast<int32_t>(f));
    l.member_col.emplace_back();
    if (fc.pooling == Pooling::kNone) {
      l.pooled_col.push_back(-1);
      l.member_col.back().push_back(-1);
    } else {
      for (int32_t m : l.members[fc.table]) {
        l.member_col.back().push_back(l.pooled_dims[tables[m].output]);
        l.pooled_dims[tables[m].output] += tables[m].dim;
      }
      l.pooled_col.push_back(l.member_col.back()[0]);
    }
  }
  l.pooled_dim = l.pooled_dims[0];
  l.tables = std::move(tables);
  l.features = std::move(features);
  *out = std::move(l);
  return Status::Ok();
}

namespace {

std::string feature_where(const TbeLayout& l, int64_t f, int64_t b) {
  std::ostringstream s;
  s << "feature '" << l.features[f].name << "' (table '" << l.tables[l.features[f].table].name << "', sample " << b
    << ")";
  return s.str();
}

template <typename IdxT, typename OffT>
Status validate_typed(const TbeLayout& l, const TbeBatch& batch) {
  const auto* idx = static_cast<const IdxT*>(batch.indices);
  const auto* off = static_cast<const OffT*>(batch.offsets);
  const int64_t F = static_cast<int64_t>(l.features.size());
  const int64_t B = batch.batch_size;
  if (off[0] != 0) {
    return Status::InvalidArgument("Expected offsets[0] == 0 but received " +
                                   std::to_string(static_cast<int64_t>(off[0])));
  }
  // Fast scan first (vectorisable); locate the culprit only on failure.
  bool decreasing = false;
  for (int64_t k = 0; k < F * B; ++k) decreasing |= off[k + 1] < off[k];
  for (int64_t k = 0; decreasing && k < F * B; ++k) {
    if (off[k + 1] < off[k]) {
      std::ostringstream s;
      s << "offsets must be non-decreasing: offsets[" << k + 1 << "] = " << static_cast<int64_t>(off[k + 1])
        << " is less than offsets[" << k << "] = " << static_cast<int64_t>(off[k]) << " ("
        << feature_where(l, k / B, k % B) << ")";
      return Status::InvalidArgument(s.str());
    }
  }
  if (static_cast<int64_t>(off[F * B]) != batch.num_indices) {
    std::ostringstream s;
    s << "Expected offsets[" << F * B << "] (the last offset) == number of indices " << batch.num_indices
      << " but received " << static_cast<int64_t>(off[F * B]);
    return Status::InvalidArgument(s.str());
  }
  for (int64_t f = 0; f < F; ++f) {
    const int64_t rows = l.tables[l.features[f].table].rows;
    const int64_t s = off[f * B], e = off[f * B + B];
    // Fast scan first (vectorisable); locate the culprit only on failure.
    bool bad = false;
    for (int64_t i = s; i < e; ++i) bad |= (static_cast<int64_t>(idx[i]) < 0) | (static_cast<int64_t>(idx[i]) >= rows);
    if (!bad) continue;
    for (int64_t i = s; i < e; ++i) {
      const int64_t v = static_cast<int64_t>(idx[i]);
      if (v >= 0 && v < rows) continue;
      int64_t b = 0;
      while (b + 1 < B && static_cast<int64_t>(off[f * B + b + 1]) <= i) ++b;
      std::ostringstream m;
      m << (v < 0 ? "negative index " : "index ") << v << " at position " << i << " is out of range for "
        << feature_where(l, f, b) << ": expected 0 <= index < " << rows;
      return Status::OutOfRange(m.str());
    }
  }
  if (batch.weights) {
    for (int64_t i = 0; i < batch.num_indices; ++i) {
      if (!std::isfinite(batch.weights[i])) {
        return Status::InvalidArgument("per-sample weight at position " + std::to_string(i) + " is not finite (" +
                                       std::to_string(batch.weights[i]) + ")");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateBatch(const TbeLayout& l, const TbeBatch& batch) {
  const int64_t F = static_cast<int64_t>(l.features.size());
  if (batch.batch_size < 0)
    return Status::InvalidArgument("Expected batch size >= 0 but received " + std::to_string(batch.batch_size));
  if (batch.num_offsets != F * batch.batch_size + 1) {
    std::ostringstream s;
    s << "Expected offsets of length F*B+1 = " << F * batch.batch_size + 1 << " (F=" << F
      << " features, B=" << batch.batch_size << ") but received " << batch.num_offsets;
    return Status::InvalidArgument(s.str());
  }
  if (batch.num_indices >= (int64_t{1} << 32) || F * batch.batch_size >= (int64_t{1} << 31))
    return Status::InvalidArgument("a batch holds at most 2^32-1 indices and 2^31-1 bags; split it");
  if (batch.num_indices > 0 && !batch.indices) return Status::InvalidArgument("indices are missing");
  if (!batch.offsets) return Status::InvalidArgument("offsets are missing");
  if (batch.index_type == IndexType::kInt32) {
    return batch.offset_type == IndexType::kInt32 ? validate_typed<int32_t, int32_t>(l, batch)
                                                  : validate_typed<int32_t, int64_t>(l, batch);
  }
  return batch.offset_type == IndexType::kInt32 ? validate_typed<int64_t, int32_t>(l, batch)
                                                : validate_typed<int64_t, int64_t>(l, batch);
}

void SequenceOffsets(const TbeLayout& l, const TbeBatch& batch, std::vector<int64_t>* out) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  out->assign(F, -1);
  int64_t acc = 0;
  for (int64_t f = 0; f < F; ++f) {
    if (l.features[f].pooling != Pooling::kNone) continue;
    (*out)[f] = acc;
    acc += (batch.offset(f * B + B) - batch.offset(f * B)) * l.dim_of_feature(static_cast<int>(f));
  }
}

int64_t SequenceOutputSize(const TbeLayout& l, const TbeBatch& batch) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  int64_t acc = 0;
  for (int64_t f = 0; f < F; ++f) {
    if (l.features[f].pooling == Pooling::kNone)
      acc += (batch.offset(f * B + B) - batch.offset(f * B)) * l.dim_of_feature(static_cast<int>(f));
  }
  return acc;
}

}  // namespace tsrec
