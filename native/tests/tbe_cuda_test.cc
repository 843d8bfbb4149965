// CUDA TBE vs CPU TBE: a CudaEmbeddingCollection and a CpuEmbeddingCollection created with the
// same configs and seed must start from the same bits, give the same forward outputs and, after
// each fused backward step, the same weights and optimizer state (to float tolerance; both sum
// a row's gradient in the same order, only the row-wise reductions differ in order). Random
// shapes with a printed seed (TSREC_TEST_SEED replays), every optimizer and pooling, the edge
// cases and the error paths. Without a CUDA device (or a CUDA build) it prints
// "SKIP: no CUDA device" and returns 77, which ctest reports as skipped.
#include <cstring>
#include <memory>

#include "tbe_test_batches.h"
#include "test_util.h"
#include "tsrec/embedding_collection.h"
#include "tsrec/tbe_cuda.h"

using namespace tsrec;
using tsrec_test::BatchSpec;
using tsrec_test::first_mismatch;
using tsrec_test::make_batch;
using tsrec_test::random_features;
using tsrec_test::random_tables;
using tsrec_test::RandomBatch;

namespace {

struct Pair {
  std::unique_ptr<CpuEmbeddingCollection> cpu;
  std::unique_ptr<CudaEmbeddingCollection> gpu;
  bool ok() const { return cpu && gpu; }
};

Pair make_pair(const std::vector<TableConfig>& t, const std::vector<FeatureConfig>& f, const OptimizerConfig& o,
               uint64_t seed) {
  Pair p;
  Status s = CpuEmbeddingCollection::Create(t, f, o, seed, &p.cpu);
  if (!s.ok()) std::fprintf(stderr, "cpu create failed: %s\n", s.message().c_str());
  s = CudaEmbeddingCollection::Create(t, f, o, seed, 0, &p.gpu);
  if (!s.ok()) std::fprintf(stderr, "cuda create failed: %s\n", s.message().c_str());
  return p;
}

std::vector<float> read_all(const EmbeddingCollection& c, int t, int k) {
  const int64_t rows = c.layout().tables[t].rows;
  std::vector<float> v(static_cast<size_t>(rows * c.row_width(t, k)));
  Status s = c.ReadRows(t, k, 0, rows, v.data());
  if (!s.ok()) std::fprintf(stderr, "ReadRows failed: %s\n", s.message().c_str());
  return v;
}

// Compares every buffer of every table of two collections (through ReadRows).
bool same_state(const EmbeddingCollection& a, const EmbeddingCollection& b, float atol, float rtol, std::string* why) {
  for (int t = 0; t < a.num_tables(); ++t) {
    for (int k = kWeights; k < a.num_states(); ++k) {
      const auto x = read_all(a, t, k), y = read_all(b, t, k);
      const int64_t m = first_mismatch(x.data(), y.data(), static_cast<int64_t>(x.size()), atol, rtol);
      if (m >= 0) {
        *why = "table " + std::to_string(t) + " buffer " + std::to_string(k) + " element " + std::to_string(m) + ": " +
               std::to_string(x[m]) + " vs " + std::to_string(y[m]);
        return false;
      }
    }
  }
  return true;
}

struct Snapshot {
  std::vector<std::vector<float>> bufs;
};
Snapshot snapshot(const EmbeddingCollection& c) {
  Snapshot s;
  for (int t = 0; t < c.num_tables(); ++t)
    for (int k = kWeights; k < c.num_states(); ++k) s.bufs.push_back(read_all(c, t, k));
  return s;
}
bool same_snapshot(const Snapshot& a, const Snapshot& b) {
  if (a.bufs.size() != b.bufs.size()) return false;
  for (size_t i = 0; i < a.bufs.size(); ++i)
    if (a.bufs[i].size() != b.bufs[i].size() ||
        std::memcmp(a.bufs[i].data(), b.bufs[i].data(), a.bufs[i].size() * 4) != 0)
      return false;
  return true;
}

constexpr float kFwdTol = 1e-5f;
constexpr float kStateTol = 2e-5f;

// Forward on both placements, compare; then the same gradients through both fused backwards,
// compare every buffer; `steps` times.
void run_pair(Pair& p, const OptimizerConfig& o, const BatchSpec& spec, std::mt19937_64& rng, int steps,
              const char* label) {
  const TbeLayout& l = p.cpu->layout();
  for (int step = 1; step <= steps; ++step) {
    RandomBatch rb;
    make_batch(l, spec, rng, &rb);
    const int64_t P = l.pooled_dim * spec.B;
    const int64_t S = SequenceOutputSize(l, rb.batch);
    std::vector<float> pc(P, -7.f), pg(P, -9.f), sc(S, -7.f), sg(S, -9.f);
    Status st = p.cpu->Forward(rb.batch, pc.data(), sc.data());
    CHECK_MSG(st.ok(), "%s cpu forward: %s", label, st.message().c_str());
    st = p.gpu->Forward(rb.batch, pg.data(), sg.data());
    CHECK_MSG(st.ok(), "%s cuda forward: %s", label, st.message().c_str());
    int64_t m = first_mismatch(pg.data(), pc.data(), P, kFwdTol, kFwdTol);
    CHECK_MSG(m < 0, "%s step %d pooled[%ld] cuda %g vs cpu %g", label, step, (long)m, pg[m], pc[m]);
    m = first_mismatch(sg.data(), sc.data(), S, kFwdTol, kFwdTol);
    CHECK_MSG(m < 0, "%s step %d sequence[%ld] cuda %g vs cpu %g", label, step, (long)m, sg[m], sc[m]);
    std::vector<float> gp(P), gs(S);
    for (auto& v : gp) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    const float lr = 0.05f;
    st = p.cpu->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), lr);
    CHECK_MSG(st.ok(), "%s cpu backward: %s", label, st.message().c_str());
    st = p.gpu->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), lr);
    CHECK_MSG(st.ok(), "%s cuda backward: %s", label, st.message().c_str());
    CHECK(p.gpu->step() == p.cpu->step());
    std::string why;
    CHECK_MSG(same_state(*p.gpu, *p.cpu, kStateTol, kStateTol, &why), "%s optimizer %s step %d: %s", label,
              optim_name(o.type), step, why.c_str());
  }
}

void run_random_case(std::mt19937_64& rng, int optim_type, const BatchSpec& spec, int T, int F, int steps,
                     bool wide = false) {
  auto tables = random_tables(rng, T, wide);
  auto features = random_features(rng, T, F);
  OptimizerConfig o = tsrec_test::random_optimizer(optim_type, rng);
  Pair p = make_pair(tables, features, o, rng());
  CHECK(p.ok());
  std::string why;
  CHECK_MSG(same_state(*p.gpu, *p.cpu, 0.0f, 0.0f, &why), "initialisation differs: %s", why.c_str());
  char label[160];
  std::snprintf(label, sizeof(label), "[%s B=%ld T=%d F=%d wd=%d clip=%g max_norm=%g w=%d i64=%d o64=%d]",
                optim_name(o.type), (long)spec.B, T, F, static_cast<int>(o.weight_decay_mode), o.max_gradient,
                o.max_norm, spec.weighted, spec.int64_indices, spec.int64_offsets);
  run_pair(p, o, spec, rng, steps, label);
}

bool stop_after_failure(int before) { return tsrec_test::failures() != before; }

}  // namespace

TEST_CASE(init_equals_cpu_for_every_optimizer) {
  std::mt19937_64 rng(tsrec_test::seed_from_env());
  for (int opt = 0; opt < 4; ++opt) {
    auto tables = random_tables(rng, 3);
    tables[0].init_min = -0.5f;
    tables[0].init_max = 0.25f;
    OptimizerConfig o;
    o.type = static_cast<OptimType>(opt);
    o.initial_accumulator_value = 0.1f;
    Pair p = make_pair(tables, random_features(rng, 3, 4), o, 42 + opt);
    CHECK(p.ok());
    std::string why;
    CHECK_MSG(same_state(*p.gpu, *p.cpu, 0.0f, 0.0f, &why), "%s: %s", optim_name(o.type), why.c_str());
    CHECK(p.gpu->device() == Device::kCuda);
    CHECK(p.gpu->table_bytes(0) == p.cpu->table_bytes(0));
  }
}

TEST_CASE(random_shapes_every_optimizer) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 1);
  for (int trial = 0; trial < 12; ++trial) {
    for (int opt = 0; opt < 4; ++opt) {
      BatchSpec s;
      s.B = 1 + static_cast<int64_t>(rng() % 20);
      s.max_bag = static_cast<int>(rng() % 6);
      s.int64_indices = rng() % 2;
      s.int64_offsets = rng() % 2;
      s.weighted = rng() % 2;
      const int T = 1 + static_cast<int>(rng() % 4);
      const int F = T + static_cast<int>(rng() % 3);
      const int before = tsrec_test::failures();
      run_random_case(rng, opt, s, T, F, 3);
      if (stop_after_failure(before)) return;
    }
  }
}

TEST_CASE(every_pooling_weighted_and_index_type) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 2);
  for (Pooling pool : {Pooling::kSum, Pooling::kMean, Pooling::kNone}) {
    for (int opt = 0; opt < 4; ++opt) {
      for (int variant = 0; variant < 4; ++variant) {
        auto tables = random_tables(rng, 2);
        auto features = random_features(rng, 2, 3);
        for (auto& f : features) f.pooling = pool;
        OptimizerConfig o = tsrec_test::random_optimizer(opt, rng);
        Pair p = make_pair(tables, features, o, rng());
        CHECK(p.ok());
        BatchSpec s;
        s.B = 1 + static_cast<int64_t>(rng() % 12);
        s.max_bag = 5;
        s.weighted = variant & 1;
        s.int64_indices = variant & 2;
        s.int64_offsets = !(variant & 2);
        char label[96];
        std::snprintf(label, sizeof(label), "[pooling %d %s variant %d]", static_cast<int>(pool), optim_name(o.type),
                      variant);
        const int before = tsrec_test::failures();
        run_pair(p, o, s, rng, 3, label);
        if (stop_after_failure(before)) return;
      }
    }
  }
}

TEST_CASE(large_batches_hot_rows_and_wide_dims) {
  // Many blocks, runs longer than a warp (hot rows seen hundreds of times), and dims that give a
  // lane several float4 columns in the forward groups and in the update warp.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 3);
  for (int opt = 0; opt < 4; ++opt) {
    BatchSpec s;
    s.B = 700;
    s.max_bag = 8;
    s.dup_rate = 0.6;
    s.weighted = opt % 2;
    s.int64_indices = opt >= 2;
    int before = tsrec_test::failures();
    run_random_case(rng, opt, s, 3, 5, 2);
    if (stop_after_failure(before)) return;
    s.B = 64;
    before = tsrec_test::failures();
    run_random_case(rng, opt, s, 3, 4, 3, /*wide=*/true);
    if (stop_after_failure(before)) return;
  }
}

TEST_CASE(many_rows_and_very_wide_dims) {
  // From a review of the never-run kernels: the random tables have <= 50 rows (key_bits <= 8, one
  // radix pass) and dims <= 516 (4 warps per update block). Here: a 2^20-row table (several
  // radix passes, row offsets past 2^24 floats), a 3,500-wide table (fewer warps per block) and
  // one at kMaxCudaDim = 12288 (48 KB of shared memory per block), every optimizer.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 9);
  std::vector<TableConfig> tables{
      {"big", int64_t{1} << 20, 4, 0, 0}, {"wide", 40, 3500, 0, 0}, {"widest", 6, 12288, 0, 0}};
  std::vector<FeatureConfig> features{
      {"fb", 0, Pooling::kSum}, {"fw", 1, Pooling::kMean}, {"fx", 2, Pooling::kSum}, {"fb2", 0, Pooling::kMean}};
  for (int opt = 0; opt < 4; ++opt) {
    OptimizerConfig o = tsrec_test::random_optimizer(opt, rng);
    Pair p = make_pair(tables, features, o, rng());
    CHECK(p.ok());
    if (!p.ok()) return;
    BatchSpec s;
    s.B = 300;
    s.max_bag = 4;
    s.dup_rate = 0.2;
    s.weighted = opt % 2;
    s.int64_indices = opt >= 2;
    const int before = tsrec_test::failures();
    run_pair(p, o, s, rng, 2, "[many rows, very wide dims]");
    if (stop_after_failure(before)) return;
  }
}

TEST_CASE(edge_cases) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 4);
  // One-row table, every id the same row, B = 1, T = 1, weights including zero.
  for (int opt = 0; opt < 4; ++opt) {
    for (Pooling pool : {Pooling::kSum, Pooling::kMean, Pooling::kNone}) {
      std::vector<TableConfig> t{{"one", 1, 8, 0, 0}};
      std::vector<FeatureConfig> f{{"f", 0, pool}};
      OptimizerConfig o;
      o.type = static_cast<OptimType>(opt);
      Pair p = make_pair(t, f, o, 5);
      CHECK(p.ok());
      std::vector<int32_t> idx{0, 0, 0, 0};
      std::vector<int32_t> off{0, 4};
      std::vector<float> w{1, 0, 2, -1};
      TbeBatch b;
      b.indices = idx.data();
      b.num_indices = 4;
      b.offsets = off.data();
      b.num_offsets = 2;
      b.weights = w.data();
      b.batch_size = 1;
      std::vector<float> pc(8), pg(8), sc(32), sg(32), gp(8, 0.5f), gs(32, 0.25f);
      CHECK(p.cpu->Forward(b, pc.data(), sc.data()).ok());
      CHECK(p.gpu->Forward(b, pg.data(), sg.data()).ok());
      CHECK(first_mismatch(pg.data(), pc.data(), pool == Pooling::kNone ? 0 : 8, kFwdTol, kFwdTol) < 0);
      CHECK(first_mismatch(sg.data(), sc.data(), pool == Pooling::kNone ? 32 : 0, kFwdTol, kFwdTol) < 0);
      for (int step = 0; step < 3; ++step) {
        CHECK(p.cpu->BackwardAndUpdate(b, gp.data(), gs.data(), 0.1f).ok());
        CHECK(p.gpu->BackwardAndUpdate(b, gp.data(), gs.data(), 0.1f).ok());
      }
      std::string why;
      CHECK_MSG(same_state(*p.gpu, *p.cpu, kStateTol, kStateTol, &why), "%s pooling %d: %s", optim_name(o.type),
                static_cast<int>(pool), why.c_str());
    }
  }
  // MEAN with empty bags gives zeros and leaves absent rows untouched; then an empty batch and B = 0.
  {
    std::vector<TableConfig> t{{"t", 10, 4, 0, 0}};
    std::vector<FeatureConfig> f{{"f", 0, Pooling::kMean}};
    OptimizerConfig o;
    o.type = OptimType::kRowwiseAdagrad;
    Pair p = make_pair(t, f, o, 1);
    CHECK(p.ok());
    const Snapshot before = snapshot(*p.gpu);
    std::vector<int32_t> idx{3};
    std::vector<int32_t> off{0, 0, 1, 1};
    TbeBatch b;
    b.indices = idx.data();
    b.num_indices = 1;
    b.offsets = off.data();
    b.num_offsets = 4;
    b.batch_size = 3;
    std::vector<float> pooled(12, 9.f), gp(12, 1.f);
    CHECK(p.gpu->Forward(b, pooled.data(), nullptr).ok());
    for (int d = 0; d < 4; ++d) CHECK(pooled[d] == 0.0f && pooled[8 + d] == 0.0f);
    CHECK(p.gpu->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.cpu->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    const auto w_after = read_all(*p.gpu, 0, kWeights);
    const auto m_after = read_all(*p.gpu, 0, 0);
    for (int row = 0; row < 10; ++row) {
      if (row == 3) continue;
      CHECK(std::memcmp(w_after.data() + row * 4, before.bufs[0].data() + row * 4, 16) == 0);
      CHECK(m_after[row] == 0.0f);
    }
    CHECK(m_after[3] > 0.0f);
    std::string why;
    CHECK_MSG(same_state(*p.gpu, *p.cpu, kStateTol, kStateTol, &why), "%s", why.c_str());
    std::vector<int32_t> off0{0, 0, 0, 0};
    b.num_indices = 0;
    b.offsets = off0.data();
    const Snapshot s0 = snapshot(*p.gpu);
    CHECK(p.gpu->Forward(b, pooled.data(), nullptr).ok());
    for (float v : pooled) CHECK(v == 0.0f);
    CHECK(p.gpu->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.cpu->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.gpu->step() == p.cpu->step());
    CHECK(same_snapshot(s0, snapshot(*p.gpu)));
    std::vector<int32_t> off_b0{0};
    b.offsets = off_b0.data();
    b.num_offsets = 1;
    b.batch_size = 0;
    CHECK(p.gpu->Forward(b, nullptr, nullptr).ok());
    CHECK(p.gpu->BackwardAndUpdate(b, nullptr, nullptr, 0.1f).ok());
  }
  // A single sample over several shared tables, B = 1, int64 everything.
  {
    BatchSpec s;
    s.B = 1;
    s.max_bag = 6;
    s.int64_indices = true;
    s.int64_offsets = true;
    s.weighted = true;
    for (int opt = 0; opt < 4; ++opt) run_random_case(rng, opt, s, 2, 5, 3);
  }
}

TEST_CASE(deterministic_bits) {
  // Same input, same bits: two CUDA collections fed the same batches end bit-identical.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 5);
  auto tables = random_tables(rng, 3);
  auto features = random_features(rng, 3, 5);
  for (int opt = 0; opt < 4; ++opt) {
    OptimizerConfig o = tsrec_test::random_optimizer(opt, rng);
    std::unique_ptr<CudaEmbeddingCollection> a, b;
    CHECK(CudaEmbeddingCollection::Create(tables, features, o, 11, 0, &a).ok());
    CHECK(CudaEmbeddingCollection::Create(tables, features, o, 11, 0, &b).ok());
    std::mt19937_64 r2(rng());
    for (int step = 0; step < 3; ++step) {
      RandomBatch rb;
      BatchSpec s;
      s.B = 500;
      s.max_bag = 6;
      s.dup_rate = 0.5;
      s.weighted = true;
      make_batch(a->layout(), s, r2, &rb);
      std::vector<float> gp(a->layout().pooled_dim * s.B), gs(SequenceOutputSize(a->layout(), rb.batch));
      for (auto& v : gp) v = std::uniform_real_distribution<float>(-1, 1)(r2);
      for (auto& v : gs) v = std::uniform_real_distribution<float>(-1, 1)(r2);
      CHECK(a->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), 0.01f).ok());
      CHECK(b->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), 0.01f).ok());
    }
    CHECK_MSG(same_snapshot(snapshot(*a), snapshot(*b)), "%s: two identical runs differ", optim_name(o.type));
  }
}

TEST_CASE(validation_errors_match_cpu_and_never_write) {
  std::vector<TableConfig> t{{"user", 100, 4, 0, 0}, {"item", 50, 8, 0, 0}};
  std::vector<FeatureConfig> f{{"user_id", 0, Pooling::kSum}, {"item_id", 1, Pooling::kMean}};
  OptimizerConfig o;
  o.type = OptimType::kAdam;
  Pair p = make_pair(t, f, o, 1);
  CHECK(p.ok());
  std::vector<float> pooled(2 * 12), gp(2 * 12, 0.5f);
  auto check = [&](std::vector<int32_t> idx, std::vector<int32_t> off, int64_t B, float lr) {
    TbeBatch b;
    b.indices = idx.data();
    b.num_indices = static_cast<int64_t>(idx.size());
    b.offsets = off.data();
    b.num_offsets = static_cast<int64_t>(off.size());
    b.batch_size = B;
    const Snapshot before = snapshot(*p.gpu);
    const int64_t step_before = p.gpu->step();
    const Status gb = p.gpu->BackwardAndUpdate(b, gp.data(), nullptr, lr);
    const Status cb = p.cpu->BackwardAndUpdate(b, gp.data(), nullptr, lr);
    const Status gf = p.gpu->Forward(b, pooled.data(), nullptr);
    const Status cf = p.cpu->Forward(b, pooled.data(), nullptr);
    if (gb.ok() || cb.ok()) return std::string("accepted a bad batch");
    if (gb.message() != cb.message()) return "backward: cuda '" + gb.message() + "' vs cpu '" + cb.message() + "'";
    if (gb.code() != cb.code()) return std::string("backward: status codes differ");
    if (lr == lr && (gf.ok() || gf.message() != cf.message()))
      return "forward: cuda '" + gf.message() + "' vs cpu '" + cf.message() + "'";
    if (p.gpu->step() != step_before) return std::string("the step counter moved");
    if (!same_snapshot(before, snapshot(*p.gpu))) return std::string("WROTE DEVICE MEMORY");
    return std::string("ok");
  };
  std::string m = check({1, 2, 3, 50}, {0, 1, 2, 3, 4}, 2, 0.1f);  // out of range id
  CHECK_MSG(m == "ok", "%s", m.c_str());
  m = check({1, -4, 3, 5}, {0, 1, 2, 3, 4}, 2, 0.1f);  // negative id
  CHECK_MSG(m == "ok", "%s", m.c_str());
  m = check({1, 2, 3, 5}, {0, 2, 1, 3, 4}, 2, 0.1f);  // non-monotonic offsets
  CHECK_MSG(m == "ok", "%s", m.c_str());
  m = check({1, 2, 3, 5}, {0, 1, 2, 3}, 2, 0.1f);  // wrong offsets length
  CHECK_MSG(m == "ok", "%s", m.c_str());
  m = check({1, 2, 3, 5}, {0, 1, 2, 3, 3}, 2, 0.1f);  // last offset != nnz
  CHECK_MSG(m == "ok", "%s", m.c_str());
  m = check({1, 2, 3, 5}, {1, 1, 2, 3, 4}, 2, 0.1f);  // offsets[0] != 0
  CHECK_MSG(m == "ok", "%s", m.c_str());
  m = check({1, 2, 3, 5}, {0, 1, 2, 3, 4}, 2, std::nanf(""));  // non-finite learning rate (backward only)
  CHECK_MSG(m == "ok", "%s", m.c_str());
  // The out-of-range message names the culprit (same text as the CPU path, checked above).
  {
    std::vector<int32_t> idx{1, 2, 3, 50}, off{0, 1, 2, 3, 4};
    TbeBatch b;
    b.indices = idx.data();
    b.num_indices = 4;
    b.offsets = off.data();
    b.num_offsets = 5;
    b.batch_size = 2;
    const Status s = p.gpu->Forward(b, pooled.data(), nullptr);
    CHECK_MSG(s.code() == StatusCode::kOutOfRange && s.message().find("index 50 at position 3") != std::string::npos &&
                  s.message().find("feature 'item_id'") != std::string::npos,
              "%s", s.message().c_str());
  }
  // A good batch after the rejected ones still matches the CPU.
  {
    std::vector<int32_t> idx{1, 2, 3, 49}, off{0, 1, 2, 3, 4};
    TbeBatch b;
    b.indices = idx.data();
    b.num_indices = 4;
    b.offsets = off.data();
    b.num_offsets = 5;
    b.batch_size = 2;
    CHECK(p.gpu->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.cpu->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    std::string why;
    CHECK_MSG(same_state(*p.gpu, *p.cpu, kStateTol, kStateTol, &why), "%s", why.c_str());
  }
  // Row accessors: same bounds errors as the CPU collection.
  std::vector<float> buf(800);
  Status gs = p.gpu->ReadRows(1, kWeights, 45, 10, buf.data()), cs = p.cpu->ReadRows(1, kWeights, 45, 10, buf.data());
  CHECK_MSG(!gs.ok() && gs.message() == cs.message(), "%s vs %s", gs.message().c_str(), cs.message().c_str());
  gs = p.gpu->WriteRows(0, 2, 0, 1, buf.data());
  cs = p.cpu->WriteRows(0, 2, 0, 1, buf.data());
  CHECK_MSG(!gs.ok() && gs.message() == cs.message(), "%s vs %s", gs.message().c_str(), cs.message().c_str());
}

TEST_CASE(write_rows_then_forward) {
  std::vector<TableConfig> t{{"a", 20, 8, 0, 0}, {"b", 7, 16, 0, 0}};
  std::vector<FeatureConfig> f{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kNone}, {"fa2", 0, Pooling::kMean}};
  OptimizerConfig o;
  o.type = OptimType::kRowwiseAdagrad;
  Pair p = make_pair(t, f, o, 3);
  CHECK(p.ok());
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 6);
  std::vector<float> rows(5 * 16);
  for (auto& v : rows) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  CHECK(p.gpu->WriteRows(0, kWeights, 10, 5, rows.data()).ok());
  CHECK(p.cpu->WriteRows(0, kWeights, 10, 5, rows.data()).ok());
  CHECK(p.gpu->WriteRows(1, kWeights, 2, 5, rows.data()).ok());
  CHECK(p.cpu->WriteRows(1, kWeights, 2, 5, rows.data()).ok());
  std::vector<float> acc{0.5f, 0.25f};
  CHECK(p.gpu->WriteRows(0, 0, 11, 2, acc.data()).ok());
  CHECK(p.cpu->WriteRows(0, 0, 11, 2, acc.data()).ok());
  std::vector<float> back(5 * 8);
  CHECK(p.gpu->ReadRows(0, kWeights, 10, 5, back.data()).ok());
  CHECK(std::memcmp(back.data(), rows.data(), back.size() * 4) == 0);
  std::string why;
  CHECK_MSG(same_state(*p.gpu, *p.cpu, 0.0f, 0.0f, &why), "%s", why.c_str());
  BatchSpec s;
  s.B = 9;
  s.max_bag = 4;
  s.weighted = true;
  run_pair(p, o, s, rng, 3, "[write_rows]");
}

TEST_CASE(config_errors) {
  std::unique_ptr<CudaEmbeddingCollection> g;
  std::unique_ptr<CpuEmbeddingCollection> c;
  Status gs =
      CudaEmbeddingCollection::Create({{"x", 10, 6, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, 0, &g);
  Status cs = CpuEmbeddingCollection::Create({{"x", 10, 6, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, &c);
  CHECK_MSG(!gs.ok() && gs.message() == cs.message(), "%s vs %s", gs.message().c_str(), cs.message().c_str());
  gs = CudaEmbeddingCollection::Create({{"x", 10, 4, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1,
                                       CudaDeviceCount(), &g);
  CHECK_MSG(
      !gs.ok() && gs.code() == StatusCode::kOutOfRange && gs.message().find("CUDA device id") != std::string::npos,
      "%s", gs.message().c_str());
  gs = CudaEmbeddingCollection::Create({{"x", 10, 4, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, -1, &g);
  CHECK(!gs.ok());
}

int main() {
  if (CudaDeviceCount() == 0) {
    std::printf("SKIP: no CUDA device (%s)\n", CudaDeviceDescription(0).c_str());
    return 77;
  }
  std::printf("seed %llu (set TSREC_TEST_SEED to replay); device %s\n",
              static_cast<unsigned long long>(tsrec_test::seed_from_env()), CudaDeviceDescription(0).c_str());
  return tsrec_test::run_all("tbe_cuda");
}
