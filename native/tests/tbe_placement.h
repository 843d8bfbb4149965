// One TBE test body for every placement (FBGEMM's `use_cpu` parameter): a TBE_CASE is written
// once against EmbeddingCollection and run by tbe_cpu_test on the CPU and by tbe_cuda_test on
// CUDA (which exits 77 first when there is no device), so the CUDA kernels are held to exactly
// the CPU's cases and tolerances. Each case compares a collection on the placement under test
// with a CPU collection made from the same configs and seed (TbePair) that supplies the
// expected values.
#pragma once
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tbe_test_batches.h"
#include "test_util.h"
#include "tsrec/embedding_collection.h"
#include "tsrec/tbe_cuda.h"

namespace tsrec_test {

using tsrec::CpuEmbeddingCollection;
using tsrec::Device;
using tsrec::EmbeddingCollection;
using tsrec::OptimizerConfig;
using tsrec::Status;

/** Where the collection under test lives. */
struct Placement {
  Device device;
  const char* name;
  /** Table dims that are not multiples of 4 (CPU only: the CUDA kernels move float4s). */
  bool any_dim;
};
constexpr Placement kCpuPlacement{Device::kCpu, "cpu", true};
constexpr Placement kCudaPlacement{Device::kCuda, "cuda", false};

// Tolerances of the comparisons, the same on every placement. The sequence output is one
// multiply per value (exact); pooled sums and optimizer state differ only in summation order.
constexpr float kPooledTol = 1e-5f;
constexpr float kSequenceTol = 1e-6f;
constexpr float kStateTol = 2e-5f;
constexpr float kOneStepStateTol = 1e-6f;  // one update of a tiny table

/** Creates a collection on placement p (CUDA: device 0). */
inline Status create_collection(const Placement& p, std::vector<TableConfig> tables,
                                std::vector<FeatureConfig> features, const OptimizerConfig& optim, uint64_t seed,
                                std::unique_ptr<EmbeddingCollection>* out) {
  Status s;
  if (p.device == Device::kCuda) {
    std::unique_ptr<tsrec::CudaEmbeddingCollection> c;
    s = tsrec::CudaEmbeddingCollection::Create(std::move(tables), std::move(features), optim, seed, 0, &c);
    *out = std::move(c);
  } else {
    std::unique_ptr<CpuEmbeddingCollection> c;
    s = CpuEmbeddingCollection::Create(std::move(tables), std::move(features), optim, seed, &c);
    *out = std::move(c);
  }
  return s;
}

/**
 * The collection under test (`got`) and a CPU collection from the same configs and seed
 * (`want`) stepped to the expected values. On the CPU placement `want` is stepped by the naive
 * references (TbeForwardReference / TbeBackwardReference), which state the contract; on CUDA by
 * the fast CPU kernels, which the CUDA kernels are written to match (same per-row summation
 * order) and which the CPU run checks against the references.
 */
struct TbePair {
  Placement placement;
  std::unique_ptr<EmbeddingCollection> got;
  std::unique_ptr<CpuEmbeddingCollection> want;
  bool ok() const { return got && want; }
  bool naive() const { return placement.device == Device::kCpu; }

  /** The expected forward outputs, from `want`. */
  Status ExpectedForward(const TbeBatch& b, float* pooled, float* sequence) const {
    if (!naive()) return want->Forward(b, pooled, sequence);
    TSREC_RETURN_IF_ERROR(tsrec::ValidateBatch(want->layout(), b));  // the reference reads what it is given
    tsrec::TbeForwardReference(want->layout(), want->tables(), b, pooled, sequence);
    return Status::Ok();
  }
  /** Steps `want` by one fused backward + optimizer update. */
  Status ExpectedBackward(const TbeBatch& b, const float* grad_pooled, const float* grad_sequence, float lr) {
    if (!naive()) return want->BackwardAndUpdate(b, grad_pooled, grad_sequence, lr);
    TSREC_RETURN_IF_ERROR(tsrec::ValidateBatch(want->layout(), b));
    const int64_t step = want->step() + 1;
    const OptimizerConfig& o = want->optimizer();
    tsrec::TbeBackwardReference(want->layout(), want->tables(), o, tsrec::MakeOptimStep(o, lr, step), b, grad_pooled,
                                grad_sequence);
    want->set_step(step);
    return Status::Ok();
  }
};

/** A TbePair; on a failed creation one side is null (ok() is false) and the status is printed. */
inline TbePair make_tbe_pair(const Placement& p, const std::vector<TableConfig>& tables,
                             const std::vector<FeatureConfig>& features, const OptimizerConfig& optim, uint64_t seed) {
  TbePair r{p, nullptr, nullptr};
  const Status s = create_collection(p, tables, features, optim, seed, &r.got);
  if (!s.ok()) std::fprintf(stderr, "%s create failed: %s\n", p.name, s.message().c_str());
  r.want = make_cpu_collection(tables, features, optim, seed);
  return r;
}

/** Every row of buffer k (kWeights or a state) of table t, through ReadRows. */
inline std::vector<float> read_all(const EmbeddingCollection& c, int t, int k) {
  const int64_t rows = c.layout().tables[t].rows;
  std::vector<float> v(static_cast<size_t>(rows * c.row_width(t, k)));
  const Status s = c.ReadRows(t, k, 0, rows, v.data());
  if (!s.ok()) std::fprintf(stderr, "ReadRows failed: %s\n", s.message().c_str());
  return v;
}

/** Compares every buffer of every table of two collections (|a-b| <= tol + tol*|b|); says where they differ. */
inline bool same_state(const EmbeddingCollection& a, const EmbeddingCollection& b, float tol, std::string* why) {
  for (int t = 0; t < a.num_tables(); ++t) {
    for (int k = tsrec::kWeights; k < a.num_states(); ++k) {
      const auto x = read_all(a, t, k), y = read_all(b, t, k);
      const int64_t m = first_mismatch(x.data(), y.data(), static_cast<int64_t>(x.size()), tol, tol);
      if (m >= 0) {
        *why = "table " + std::to_string(t) + " buffer " + std::to_string(k) + " element " + std::to_string(m) + ": " +
               std::to_string(x[m]) + " vs " + std::to_string(y[m]);
        return false;
      }
    }
  }
  return true;
}

/** Every buffer of a collection, to check later that nothing was written. */
struct Snapshot {
  std::vector<std::vector<float>> bufs;
};
inline Snapshot snapshot(const EmbeddingCollection& c) {
  Snapshot s;
  for (int t = 0; t < c.num_tables(); ++t)
    for (int k = tsrec::kWeights; k < c.num_states(); ++k) s.bufs.push_back(read_all(c, t, k));
  return s;
}
inline bool same_snapshot(const Snapshot& a, const Snapshot& b) {
  if (a.bufs.size() != b.bufs.size()) return false;
  for (size_t i = 0; i < a.bufs.size(); ++i)
    if (a.bufs[i].size() != b.bufs[i].size() ||
        std::memcmp(a.bufs[i].data(), b.bufs[i].data(), a.bufs[i].size() * 4) != 0)
      return false;
  return true;
}

/** A test body parameterised by placement, registered by TBE_CASE. */
struct PlacedCase {
  const char* name;
  void (*fn)(const Placement&);
};
inline std::vector<PlacedCase>& placed_cases() {
  static std::vector<PlacedCase> c;
  return c;
}
struct RegisterPlaced {
  RegisterPlaced(const char* n, void (*f)(const Placement&)) { placed_cases().push_back({n, f}); }
};

/** Defines a test body run once per placement; `placement` names the one it runs on. */
#define TBE_CASE(name)                                                \
  static void name(const ::tsrec_test::Placement& placement);         \
  static ::tsrec_test::RegisterPlaced placed_reg_##name(#name, name); \
  static void name(const ::tsrec_test::Placement& placement)

/** Queues every TBE_CASE on placement p, ahead of the file's own TEST_CASEs, for run_all. */
inline void add_placed_cases(const Placement& p) {
  std::vector<Case> placed;
  for (const PlacedCase& c : placed_cases()) placed.push_back({c.name, [c, p] { c.fn(p); }});
  cases().insert(cases().begin(), placed.begin(), placed.end());
}

}  // namespace tsrec_test
