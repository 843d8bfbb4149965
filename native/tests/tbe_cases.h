// The TBE cases every placement must pass, written once (TBE_CASE, tbe_placement.h): the
// collection under test against the expected values (the naive references on the CPU, the CPU
// kernels on CUDA): initial values, pooled and sequence outputs, weights and optimizer state
// after each fused backward step, for every optimizer and pooling, on random shapes with a
// fresh seed per run (printed; TSREC_TEST_SEED replays), plus the edge cases and every
// validation error. Included by tbe_cpu_test.cc and tbe_cuda_test.cc, which add the cases only
// one placement has (visiting orders and thread counts; device ids).
#pragma once
#include <cmath>
#include <cstring>
#include <memory>

#include "tbe_placement.h"
#include "tbe_test_batches.h"
#include "test_util.h"

namespace tsrec_test {
namespace {

using namespace tsrec;

// Forward on both sides, compare; then the same gradients through both fused backwards,
// compare every buffer; `steps` times.
void run_steps(TbePair& p, const BatchSpec& spec, std::mt19937_64& rng, int steps, const char* label) {
  const TbeLayout& l = p.want->layout();
  const char* on = p.placement.name;
  for (int step = 1; step <= steps; ++step) {
    RandomBatch rb;
    make_batch(l, spec, rng, &rb);
    const int64_t P = l.pooled_dim * spec.B;
    const int64_t S = SequenceOutputSize(l, rb.batch);
    std::vector<float> pg(P, -7.f), pw(P, -9.f), sg(S, -7.f), sw(S, -9.f);
    Status st = p.got->Forward(rb.batch, pg.data(), sg.data());
    CHECK_MSG(st.ok(), "%s %s forward: %s", label, on, st.message().c_str());
    st = p.ExpectedForward(rb.batch, pw.data(), sw.data());
    CHECK_MSG(st.ok(), "%s expected forward: %s", label, st.message().c_str());
    int64_t m = first_mismatch(pg.data(), pw.data(), P, kPooledTol, kPooledTol);
    CHECK_MSG(m < 0, "%s step %d pooled[%ld] %s %g vs expected %g", label, step, (long)m, on, pg[m], pw[m]);
    m = first_mismatch(sg.data(), sw.data(), S, kSequenceTol, kSequenceTol);
    CHECK_MSG(m < 0, "%s step %d sequence[%ld] %s %g vs expected %g", label, step, (long)m, on, sg[m], sw[m]);
    std::vector<float> gp(P), gs(S);
    for (auto& v : gp) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    const float lr = 0.05f;
    st = p.got->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), lr);
    CHECK_MSG(st.ok(), "%s %s backward: %s", label, on, st.message().c_str());
    st = p.ExpectedBackward(rb.batch, gp.data(), gs.data(), lr);
    CHECK_MSG(st.ok(), "%s expected backward: %s", label, st.message().c_str());
    CHECK(p.got->step() == p.want->step());
    std::string why;
    CHECK_MSG(same_state(*p.got, *p.want, kStateTol, &why), "%s optimizer %s step %d: %s", label,
              optim_name(p.want->optimizer().type), step, why.c_str());
  }
}

// Random tables (wide: several float4 per CUDA lane) and features, random optimizer settings;
// identical initial state, then run_steps.
void run_random_case(const Placement& placement, std::mt19937_64& rng, int optim_type, const BatchSpec& spec, int T,
                     int F, int steps, bool wide = false) {
  auto tables = random_tables(rng, T, wide, placement.any_dim);
  auto features = random_features(rng, T, F);
  OptimizerConfig o = random_optimizer(optim_type, rng);
  TbePair p = make_tbe_pair(placement, tables, features, o, rng());
  CHECK(p.ok());
  std::string why;
  CHECK_MSG(same_state(*p.got, *p.want, 0.0f, &why), "initialisation differs: %s", why.c_str());
  char label[160];
  std::snprintf(label, sizeof(label), "[%s B=%ld T=%d F=%d wd=%d clip=%g max_norm=%g w=%d i64=%d o64=%d]",
                optim_name(o.type), (long)spec.B, T, F, static_cast<int>(o.weight_decay_mode), o.max_gradient,
                o.max_norm, spec.weighted, spec.int64_indices, spec.int64_offsets);
  run_steps(p, spec, rng, steps, label);
}

bool failed_since(int before) { return failures() != before; }

TBE_CASE(init_equals_cpu_for_every_optimizer) {
  std::mt19937_64 rng(seed_from_env() + 7);
  for (int opt = 0; opt < 4; ++opt) {
    auto tables = random_tables(rng, 3, false, placement.any_dim);
    tables[0].init_min = -0.5f;
    tables[0].init_max = 0.25f;
    OptimizerConfig o;
    o.type = static_cast<OptimType>(opt);
    o.initial_accumulator_value = 0.1f;
    TbePair p = make_tbe_pair(placement, tables, random_features(rng, 3, 4), o, 42 + opt);
    CHECK(p.ok());
    std::string why;
    CHECK_MSG(same_state(*p.got, *p.want, 0.0f, &why), "%s: %s", optim_name(o.type), why.c_str());
    CHECK(p.got->device() == placement.device);
    CHECK(p.got->table_bytes(0) == p.want->table_bytes(0));
  }
}

TBE_CASE(init_is_seeded_and_in_range) {
  std::vector<TableConfig> t{{"a", 400, 16, 0, 0}, {"b", 30, 4, -0.5f, 0.25f}};
  std::vector<FeatureConfig> f{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kSum}};
  std::unique_ptr<EmbeddingCollection> x, y, z;
  CHECK(create_collection(placement, t, f, OptimizerConfig{}, 42, &x).ok());
  CHECK(create_collection(placement, t, f, OptimizerConfig{}, 42, &y).ok());
  CHECK(create_collection(placement, t, f, OptimizerConfig{}, 43, &z).ok());
  std::string why;
  CHECK(same_state(*x, *y, 0.0f, &why));
  CHECK(!same_state(*x, *z, 0.0f, &why));
  const auto a = read_all(*x, 0, kWeights);
  for (int i = 0; i < 400 * 16; ++i) CHECK(a[i] >= -0.05f && a[i] < 0.05f);
  const auto b = read_all(*x, 1, kWeights);
  for (int i = 0; i < 120; ++i) CHECK(b[i] >= -0.5f && b[i] < 0.25f);
  CHECK(x->table_bytes(0) == 400 * 16 * 4);
}

TBE_CASE(random_shapes_every_optimizer) {
  std::mt19937_64 rng(seed_from_env());
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
      const int before = failures();
      run_random_case(placement, rng, opt, s, T, F, 3);
      if (failed_since(before)) return;
    }
  }
}

TBE_CASE(every_pooling_weighted_and_index_type) {
  std::mt19937_64 rng(seed_from_env() + 2);
  for (Pooling pool : {Pooling::kSum, Pooling::kMean, Pooling::kNone}) {
    for (int opt = 0; opt < 4; ++opt) {
      for (int variant = 0; variant < 4; ++variant) {
        auto tables = random_tables(rng, 2, false, placement.any_dim);
        auto features = random_features(rng, 2, 3);
        for (auto& f : features) f.pooling = pool;
        OptimizerConfig o = random_optimizer(opt, rng);
        TbePair p = make_tbe_pair(placement, tables, features, o, rng());
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
        const int before = failures();
        run_steps(p, s, rng, 3, label);
        if (failed_since(before)) return;
      }
    }
  }
}

TBE_CASE(large_batch_multithreaded_matches_reference) {
  // Big enough that the CPU forward and backward take their parallel paths.
  std::mt19937_64 rng(seed_from_env() + 1);
  for (int opt = 0; opt < 4; ++opt) {
    BatchSpec s;
    s.B = 600;
    s.max_bag = 8;
    s.weighted = opt % 2;
    run_random_case(placement, rng, opt, s, 3, 4, 2);
  }
}

TBE_CASE(large_batches_hot_rows_and_wide_dims) {
  // Many blocks, runs longer than a warp (hot rows seen hundreds of times), and dims that give a
  // lane several float4 columns in the forward groups and in the update warp.
  std::mt19937_64 rng(seed_from_env() + 12);
  for (int opt = 0; opt < 4; ++opt) {
    BatchSpec s;
    s.B = 700;
    s.max_bag = 8;
    s.dup_rate = 0.6;
    s.weighted = opt % 2;
    s.int64_indices = opt >= 2;
    int before = failures();
    run_random_case(placement, rng, opt, s, 3, 5, 2);
    if (failed_since(before)) return;
    s.B = 64;
    before = failures();
    run_random_case(placement, rng, opt, s, 3, 4, 3, /*wide=*/true);
    if (failed_since(before)) return;
  }
}

TBE_CASE(many_rows_and_very_wide_dims) {
  // From a review of the never-run CUDA kernels: the random tables have <= 50 rows (key_bits <= 8,
  // one radix pass) and dims <= 516 (4 warps per update block). Here: a 2^20-row table (several
  // radix passes, row offsets past 2^24 floats), a 3,500-wide table (fewer warps per block) and
  // one at kMaxCudaDim = 12288 (48 KB of shared memory per block), every optimizer.
  std::mt19937_64 rng(seed_from_env() + 9);
  std::vector<TableConfig> tables{
      {"big", int64_t{1} << 20, 4, 0, 0}, {"wide", 40, 3500, 0, 0}, {"widest", 6, 12288, 0, 0}};
  std::vector<FeatureConfig> features{
      {"fb", 0, Pooling::kSum}, {"fw", 1, Pooling::kMean}, {"fx", 2, Pooling::kSum}, {"fb2", 0, Pooling::kMean}};
  for (int opt = 0; opt < 4; ++opt) {
    OptimizerConfig o = random_optimizer(opt, rng);
    TbePair p = make_tbe_pair(placement, tables, features, o, rng());
    CHECK(p.ok());
    BatchSpec s;
    s.B = 300;
    s.max_bag = 4;
    s.dup_rate = 0.2;
    s.weighted = opt % 2;
    s.int64_indices = opt >= 2;
    const int before = failures();
    run_steps(p, s, rng, 2, "[many rows, very wide dims]");
    if (failed_since(before)) return;
  }
}

TBE_CASE(large_gradient_takes_the_huge_page_copy_path) {
  // B * pooled_dim * 4 >= 2 MiB: the CPU backward copies dL/dpooled into huge-page scratch first.
  std::mt19937_64 rng(seed_from_env() + 4);
  std::vector<TableConfig> tables{{"a", 3000, 64, 0, 0}, {"b", 200, 64, 0, 0}};
  std::vector<FeatureConfig> features{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kMean}, {"fc", 0, Pooling::kNone}};
  for (int opt = 0; opt < 4; ++opt) {
    OptimizerConfig o = random_optimizer(opt, rng);
    TbePair p = make_tbe_pair(placement, tables, features, o, 21);
    CHECK(p.ok());
    for (int step = 1; step <= 2; ++step) {
      RandomBatch rb;
      BatchSpec s;
      s.B = 4200;
      s.max_bag = 3;
      s.weighted = step == 2;
      make_batch(p.want->layout(), s, rng, &rb);
      const int64_t P = p.want->layout().pooled_dim * s.B;
      CHECK(P * 4 >= (int64_t{1} << 21));
      const int64_t S = SequenceOutputSize(p.want->layout(), rb.batch);
      std::vector<float> gp(P), gs(S);
      for (auto& v : gp) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      CHECK(p.got->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), 0.03f).ok());
      CHECK(p.ExpectedBackward(rb.batch, gp.data(), gs.data(), 0.03f).ok());
      std::string why;
      CHECK_MSG(same_state(*p.got, *p.want, kStateTol, &why), "optimizer %s step %d: %s", optim_name(o.type), step,
                why.c_str());
    }
  }
}

TBE_CASE(aligned_output_takes_the_streaming_store_path) {
  // A 64-byte aligned pooled output with whole-line feature slots is written by the CPU with
  // non-temporal stores; mixed slots (dim 4, 12) in the same output take the plain path.
  std::mt19937_64 rng(seed_from_env() + 5);
  std::vector<TableConfig> tables{
      {"a", 500, 16, 0, 0}, {"b", 90, 64, 0, 0}, {"c", 30, 4, 0, 0}, {"d", 40, 12, 0, 0}, {"e", 70, 32, 0, 0}};
  std::vector<FeatureConfig> features{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kMean}, {"fc", 2, Pooling::kSum},
                                      {"fd", 3, Pooling::kSum}, {"fe", 4, Pooling::kMean}, {"fs", 1, Pooling::kNone}};
  TbePair p = make_tbe_pair(placement, tables, features, OptimizerConfig{}, 8);
  CHECK(p.ok());
  const TbeLayout& l = p.want->layout();
  CHECK(l.pooled_dim * 4 % 64 == 0);  // 16+64+4+12+32 = 128 floats = 512 bytes
  for (int trial = 0; trial < 4; ++trial) {
    RandomBatch rb;
    BatchSpec s;
    s.B = 700;
    s.max_bag = 5;
    s.weighted = trial % 2;
    make_batch(l, s, rng, &rb);
    const int64_t P = l.pooled_dim * s.B, S = SequenceOutputSize(l, rb.batch);
    auto out = HostBuffer::Allocate(P);  // 64-byte aligned
    std::vector<float> ref(P), seq(S), seq_ref(S);
    for (int64_t i = 0; i < P; ++i) out->data()[i] = -5.0f;
    CHECK(p.got->Forward(rb.batch, out->data(), seq.data()).ok());
    CHECK(p.ExpectedForward(rb.batch, ref.data(), seq_ref.data()).ok());
    int64_t m = first_mismatch(out->data(), ref.data(), P, kPooledTol, kPooledTol);
    CHECK_MSG(m < 0, "pooled[%ld] %g vs %g", (long)m, out->data()[m], ref[m]);
    m = first_mismatch(seq.data(), seq_ref.data(), S, kSequenceTol, kSequenceTol);
    CHECK_MSG(m < 0, "sequence[%ld] %g vs %g", (long)m, seq[m], seq_ref[m]);
  }
}

TBE_CASE(edge_cases) {
  std::mt19937_64 rng(seed_from_env() + 6);
  // One-row table, every id the same row, B = 1, T = 1, weights including zero.
  for (int opt = 0; opt < 4; ++opt) {
    for (Pooling pool : {Pooling::kSum, Pooling::kMean, Pooling::kNone}) {
      std::vector<TableConfig> t{{"one", 1, 8, 0, 0}};
      std::vector<FeatureConfig> f{{"f", 0, pool}};
      OptimizerConfig o;
      o.type = static_cast<OptimType>(opt);
      TbePair p = make_tbe_pair(placement, t, f, o, 5);
      CHECK(p.ok());
      const std::vector<int32_t> idx{0, 0, 0, 0};
      const std::vector<int32_t> off{0, 4};
      const std::vector<float> w{1, 0, 2, -1};
      const TbeBatch b = view_batch(idx, off, 1, w.data());
      std::vector<float> pg(8), pw(8), sg(32), sw(32), gp(8, 0.5f), gs(32, 0.25f);
      CHECK(p.got->Forward(b, pg.data(), sg.data()).ok());
      CHECK(p.ExpectedForward(b, pw.data(), sw.data()).ok());
      CHECK(first_mismatch(pg.data(), pw.data(), pool == Pooling::kNone ? 0 : 8, kPooledTol, kPooledTol) < 0);
      CHECK(first_mismatch(sg.data(), sw.data(), pool == Pooling::kNone ? 32 : 0, kSequenceTol, kSequenceTol) < 0);
      std::string why;
      for (int step = 1; step <= 3; ++step) {
        CHECK(p.got->BackwardAndUpdate(b, gp.data(), gs.data(), 0.1f).ok());
        CHECK(p.ExpectedBackward(b, gp.data(), gs.data(), 0.1f).ok());
        const float tol = step == 1 ? kOneStepStateTol : kStateTol;
        CHECK_MSG(same_state(*p.got, *p.want, tol, &why), "%s pooling %d step %d: %s", optim_name(o.type),
                  static_cast<int>(pool), step, why.c_str());
      }
    }
  }
  // MEAN with empty bags gives zeros and leaves absent rows untouched; then an empty batch and B = 0.
  {
    std::vector<TableConfig> t{{"t", 10, 4, 0, 0}};
    std::vector<FeatureConfig> f{{"f", 0, Pooling::kMean}};
    OptimizerConfig o;
    o.type = OptimType::kRowwiseAdagrad;
    TbePair p = make_tbe_pair(placement, t, f, o, 1);
    CHECK(p.ok());
    const Snapshot before = snapshot(*p.got);
    const std::vector<int32_t> idx{3};
    const std::vector<int32_t> off{0, 0, 1, 1};
    const TbeBatch b = view_batch(idx, off, 3);
    std::vector<float> pooled(12, 9.f), expected(12, -9.f), gp(12, 1.f);
    CHECK(p.got->Forward(b, pooled.data(), nullptr).ok());
    for (int d = 0; d < 4; ++d) CHECK(pooled[d] == 0.0f && pooled[8 + d] == 0.0f);
    CHECK(p.ExpectedForward(b, expected.data(), nullptr).ok());
    CHECK(first_mismatch(pooled.data(), expected.data(), 12, kPooledTol, kPooledTol) < 0);
    CHECK(p.got->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.ExpectedBackward(b, gp.data(), nullptr, 0.1f).ok());
    const auto w_after = read_all(*p.got, 0, kWeights);
    const auto m_after = read_all(*p.got, 0, 0);
    for (int row = 0; row < 10; ++row) {
      if (row == 3) continue;
      CHECK(std::memcmp(w_after.data() + row * 4, before.bufs[0].data() + row * 4, 16) == 0);
      CHECK(m_after[row] == 0.0f);
    }
    CHECK(m_after[3] > 0.0f);
    std::string why;
    CHECK_MSG(same_state(*p.got, *p.want, kStateTol, &why), "%s", why.c_str());
    // nnz = 0: the indices pointer is valid but none is read.
    const std::vector<int32_t> off0{0, 0, 0, 0};
    const TbeBatch empty = view_batch(IndexView(idx.data(), 0), off0, 3);
    const Snapshot s0 = snapshot(*p.got);
    CHECK(p.got->Forward(empty, pooled.data(), nullptr).ok());
    for (float v : pooled) CHECK(v == 0.0f);
    CHECK(p.got->BackwardAndUpdate(empty, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.ExpectedBackward(empty, gp.data(), nullptr, 0.1f).ok());
    CHECK(p.got->step() == p.want->step());
    CHECK(same_snapshot(s0, snapshot(*p.got)));
    const std::vector<int32_t> off_b0{0};
    const TbeBatch no_samples = view_batch(IndexView(idx.data(), 0), off_b0, 0);
    CHECK(p.got->Forward(no_samples, nullptr, nullptr).ok());
    CHECK(p.got->BackwardAndUpdate(no_samples, nullptr, nullptr, 0.1f).ok());
  }
  // A single sample over several shared tables, B = 1, int64 everything.
  {
    BatchSpec s;
    s.B = 1;
    s.max_bag = 6;
    s.int64_indices = true;
    s.int64_offsets = true;
    s.weighted = true;
    for (int opt = 0; opt < 4; ++opt) run_random_case(placement, rng, opt, s, 2, 5, 3);
  }
}

TBE_CASE(deterministic_bits) {
  // Same input, same bits: two collections fed the same batches end bit-identical.
  std::mt19937_64 rng(seed_from_env() + 8);
  auto tables = random_tables(rng, 3, false, placement.any_dim);
  auto features = random_features(rng, 3, 5);
  for (int opt = 0; opt < 4; ++opt) {
    OptimizerConfig o = random_optimizer(opt, rng);
    std::unique_ptr<EmbeddingCollection> a, b;
    CHECK(create_collection(placement, tables, features, o, 11, &a).ok());
    CHECK(create_collection(placement, tables, features, o, 11, &b).ok());
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

TBE_CASE(validation_errors_name_the_culprit_and_never_write) {
  // Every rejected batch: the same status as the CPU collection's, a message that names the
  // culprit, no buffer written and the step counter unmoved; a good batch afterwards still
  // matches. SGD (no state) and Adam (two state buffers).
  struct BadBatch {
    std::vector<int32_t> idx, off;
    float lr;
    std::vector<const char*> says;  // parts of the message
  };
  const std::vector<BadBatch> bad = {
      {{1, 2, 3, 50},
       {0, 1, 2, 3, 4},
       0.1f,  // out of range id
       {"index 50 at position 3", "feature 'item_id'", "table 'item'", "sample 1", "< 50"}},
      {{1, -4, 3, 5}, {0, 1, 2, 3, 4}, 0.1f, {"negative index -4 at position 1", "'user_id'"}},
      {{1, 2, 3, 5}, {0, 2, 1, 3, 4}, 0.1f, {"non-decreasing", "offsets[2] = 1"}},  // non-monotonic offsets
      {{1, 2, 3, 5}, {0, 1, 2, 3}, 0.1f, {"F*B+1 = 5", "received 4"}},              // wrong offsets length
      {{1, 2, 3, 5}, {0, 1, 2, 3, 3}, 0.1f, {"last offset"}},                       // last offset != nnz
      {{1, 2, 3, 5}, {1, 1, 2, 3, 4}, 0.1f, {"offsets[0] == 0"}},
      {{1, 2, 3, 5}, {0, 1, 2, 3, 4}, std::nanf(""), {"finite learning rate"}},  // backward only
  };
  std::vector<TableConfig> t{{"user", 100, 4, 0, 0}, {"item", 50, 8, 0, 0}};
  std::vector<FeatureConfig> f{{"user_id", 0, Pooling::kSum}, {"item_id", 1, Pooling::kMean}};
  for (OptimType type : {OptimType::kSgd, OptimType::kAdam}) {
    OptimizerConfig o;
    o.type = type;
    TbePair p = make_tbe_pair(placement, t, f, o, 1);
    CHECK(p.ok());
    std::vector<float> pooled(2 * 12), gp(2 * 12, 0.5f);
    for (size_t k = 0; k < bad.size(); ++k) {
      const BadBatch& c = bad[k];
      const TbeBatch b = view_batch(c.idx, c.off, 2);
      const Snapshot before = snapshot(*p.got);
      const int64_t step_before = p.got->step();
      const Status gb = p.got->BackwardAndUpdate(b, gp.data(), nullptr, c.lr);
      const Status wb = p.want->BackwardAndUpdate(b, gp.data(), nullptr, c.lr);
      const Status gf = p.got->Forward(b, pooled.data(), nullptr);
      const Status wf = p.want->Forward(b, pooled.data(), nullptr);
      CHECK_MSG(!gb.ok() && !wb.ok(), "%s batch %zu: accepted a bad batch", optim_name(type), k);
      CHECK_MSG(gb.message() == wb.message() && gb.code() == wb.code(), "%s batch %zu backward: '%s' vs cpu '%s'",
                optim_name(type), k, gb.message().c_str(), wb.message().c_str());
      const bool forward_too = std::isfinite(c.lr);  // the learning rate is the backward's only
      if (forward_too)
        CHECK_MSG(!gf.ok() && gf.message() == wf.message() && gf.code() == wf.code(),
                  "%s batch %zu forward: '%s' vs cpu '%s'", optim_name(type), k, gf.message().c_str(),
                  wf.message().c_str());
      const std::string said = forward_too ? gf.message() : gb.message();
      for (const char* part : c.says)
        CHECK_MSG(said.find(part) != std::string::npos, "%s batch %zu: '%s' does not say \"%s\"", optim_name(type), k,
                  said.c_str(), part);
      CHECK_MSG(p.got->step() == step_before, "%s batch %zu: the step counter moved", optim_name(type), k);
      CHECK_MSG(same_snapshot(before, snapshot(*p.got)), "%s batch %zu: a rejected batch WROTE MEMORY",
                optim_name(type), k);
    }
    CHECK(p.got->Forward(view_batch(bad[0].idx, bad[0].off, 2), pooled.data(), nullptr).code() ==
          StatusCode::kOutOfRange);
    // A good batch after the rejected ones still matches.
    {
      const std::vector<int32_t> idx{1, 2, 3, 49}, off{0, 1, 2, 3, 4};
      const TbeBatch b = view_batch(idx, off, 2);
      std::vector<float> expected(2 * 12, -9.f);
      CHECK(p.got->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
      CHECK(p.ExpectedBackward(b, gp.data(), nullptr, 0.1f).ok());
      CHECK(p.got->Forward(b, pooled.data(), nullptr).ok());
      CHECK(p.ExpectedForward(b, expected.data(), nullptr).ok());
      CHECK(first_mismatch(pooled.data(), expected.data(), 2 * 12, kPooledTol, kPooledTol) < 0);
      std::string why;
      CHECK_MSG(same_state(*p.got, *p.want, kStateTol, &why), "%s", why.c_str());
    }
    // Row accessors: the same bounds errors as the CPU collection.
    std::vector<float> buf(800);
    Status gs = p.got->ReadRows(1, kWeights, 45, 10, buf.data()),
           ws = p.want->ReadRows(1, kWeights, 45, 10, buf.data());
    CHECK_MSG(!gs.ok() && gs.message() == ws.message(), "%s vs %s", gs.message().c_str(), ws.message().c_str());
    gs = p.got->WriteRows(0, 2, 0, 1, buf.data());
    ws = p.want->WriteRows(0, 2, 0, 1, buf.data());
    CHECK_MSG(!gs.ok() && gs.message() == ws.message(), "%s vs %s", gs.message().c_str(), ws.message().c_str());
  }
}

TBE_CASE(config_errors_name_the_culprit) {
  // The same message as the CPU collection's, naming the table or feature.
  struct BadConfig {
    std::vector<TableConfig> tables;
    std::vector<FeatureConfig> features;
    std::vector<const char*> says;
  };
  const std::vector<BadConfig> bad = {
      {{{"x", 10, 0, 0, 0}}, {{"f", 0, Pooling::kSum}}, {"dim > 0", "'x'"}},
      {{{"x", 10, 4, 0, 0}}, {{"f", 3, Pooling::kSum}}, {"feature 'f' names table 3"}},
      {{{"x", 0, 4, 0, 0}}, {{"f", 0, Pooling::kSum}}, {"rows > 0"}},
  };
  for (size_t k = 0; k < bad.size(); ++k) {
    std::unique_ptr<EmbeddingCollection> c;
    std::unique_ptr<CpuEmbeddingCollection> cpu;
    const Status s = create_collection(placement, bad[k].tables, bad[k].features, OptimizerConfig{}, 1, &c);
    const Status cs = CpuEmbeddingCollection::Create(bad[k].tables, bad[k].features, OptimizerConfig{}, 1, &cpu);
    CHECK_MSG(!s.ok() && s.message() == cs.message(), "config %zu: '%s' vs cpu '%s'", k, s.message().c_str(),
              cs.message().c_str());
    for (const char* part : bad[k].says)
      CHECK_MSG(s.message().find(part) != std::string::npos, "config %zu: '%s' does not say \"%s\"", k,
                s.message().c_str(), part);
  }
}

TBE_CASE(write_rows_then_forward) {
  std::vector<TableConfig> t{{"a", 20, 8, 0, 0}, {"b", 7, 16, 0, 0}};
  std::vector<FeatureConfig> f{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kNone}, {"fa2", 0, Pooling::kMean}};
  OptimizerConfig o;
  o.type = OptimType::kRowwiseAdagrad;
  TbePair p = make_tbe_pair(placement, t, f, o, 3);
  CHECK(p.ok());
  std::mt19937_64 rng(seed_from_env() + 10);
  std::vector<float> rows(5 * 16);
  for (auto& v : rows) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  CHECK(p.got->WriteRows(0, kWeights, 10, 5, rows.data()).ok());
  CHECK(p.want->WriteRows(0, kWeights, 10, 5, rows.data()).ok());
  CHECK(p.got->WriteRows(1, kWeights, 2, 5, rows.data()).ok());
  CHECK(p.want->WriteRows(1, kWeights, 2, 5, rows.data()).ok());
  std::vector<float> acc{0.5f, 0.25f};
  CHECK(p.got->WriteRows(0, 0, 11, 2, acc.data()).ok());
  CHECK(p.want->WriteRows(0, 0, 11, 2, acc.data()).ok());
  std::vector<float> back(5 * 8);
  CHECK(p.got->ReadRows(0, kWeights, 10, 5, back.data()).ok());
  CHECK(std::memcmp(back.data(), rows.data(), back.size() * 4) == 0);
  std::string why;
  CHECK_MSG(same_state(*p.got, *p.want, 0.0f, &why), "%s", why.c_str());
  BatchSpec s;
  s.B = 9;
  s.max_bag = 4;
  s.weighted = true;
  run_steps(p, s, rng, 3, "[write_rows]");
}

}  // namespace
}  // namespace tsrec_test
