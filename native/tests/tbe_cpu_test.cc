// Fast CPU TBE kernels vs the naive references: pooled outputs, updated weights and optimizer
// state, for every optimizer and pooling, on random shapes with a fresh seed per run (printed;
// set TSREC_TEST_SEED to replay), plus the edge cases and every validation error.
#include <cstring>
#include <memory>

#include "tbe_test_batches.h"
#include "test_util.h"
#include "tsrec/embedding_collection.h"

using namespace tsrec;
using tsrec_test::BatchSpec;
using tsrec_test::first_mismatch;
using tsrec_test::make_batch;
using tsrec_test::random_features;
using tsrec_test::random_tables;
using tsrec_test::RandomBatch;

namespace {

// Compares every buffer of every table of two collections.
bool same_state(const CpuEmbeddingCollection& a, const CpuEmbeddingCollection& b, float tol, std::string* why) {
  for (int t = 0; t < a.num_tables(); ++t) {
    for (int k = kWeights; k < a.num_states(); ++k) {
      const auto& x = a.buffer(t, k);
      const auto& y = b.buffer(t, k);
      int64_t m = first_mismatch(x->data(), y->data(), x->size(), tol, tol);
      if (m >= 0) {
        *why = "table " + std::to_string(t) + " buffer " + std::to_string(k) + " element " + std::to_string(m) + ": " +
               std::to_string(x->data()[m]) + " vs " + std::to_string(y->data()[m]);
        return false;
      }
    }
  }
  return true;
}

void run_random_case(std::mt19937_64& rng, int optim_type, const BatchSpec& spec_in, int T, int F, int steps) {
  auto tables = random_tables(rng, T);
  auto features = random_features(rng, T, F);
  OptimizerConfig o = tsrec_test::random_optimizer(optim_type, rng);
  uint64_t seed = rng();
  auto fast = tsrec_test::make_cpu_collection(tables, features, o, seed);
  auto ref = tsrec_test::make_cpu_collection(tables, features, o, seed);
  CHECK(fast && ref);
  std::string why;
  CHECK_MSG(same_state(*fast, *ref, 0.0f, &why), "initialisation differs: %s", why.c_str());
  const TbeLayout& l = fast->layout();
  for (int step = 1; step <= steps; ++step) {
    RandomBatch rb;
    make_batch(l, spec_in, rng, &rb);
    const int64_t P = l.pooled_dim * spec_in.B;
    const int64_t S = SequenceOutputSize(l, rb.batch);
    std::vector<float> pf(P, -7.f), pr(P, -9.f), sf(S, -7.f), sr(S, -9.f);
    Status st = fast->Forward(rb.batch, pf.data(), sf.data());
    CHECK_MSG(st.ok(), "%s", st.message().c_str());
    TbeForwardReference(l, ref->tables(), rb.batch, pr.data(), sr.data());
    int64_t m = first_mismatch(pf.data(), pr.data(), P, 1e-5f, 1e-5f);
    CHECK_MSG(m < 0, "pooled[%ld] %g vs %g", (long)m, pf[m], pr[m]);
    m = first_mismatch(sf.data(), sr.data(), S, 1e-6f, 1e-6f);
    CHECK_MSG(m < 0, "sequence[%ld] %g vs %g", (long)m, sf[m], sr[m]);
    std::vector<float> gp(P), gs(S);
    for (auto& v : gp) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    const float lr = 0.05f;
    st = fast->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), lr);
    CHECK_MSG(st.ok(), "%s", st.message().c_str());
    TbeBackwardReference(l, ref->tables(), o, MakeOptimStep(o, lr, step), rb.batch, gp.data(), gs.data());
    CHECK_MSG(same_state(*fast, *ref, 2e-5f, &why), "optimizer %s step %d: %s", optim_name(o.type), step, why.c_str());
  }
}

}  // namespace

TEST_CASE(random_shapes_every_optimizer) {
  std::mt19937_64 rng(tsrec_test::seed_from_env());
  for (int trial = 0; trial < 12; ++trial) {
    for (int opt = 0; opt < 4; ++opt) {
      BatchSpec s;
      s.B = 1 + static_cast<int64_t>(rng() % 20);
      s.max_bag = static_cast<int>(rng() % 6);
      s.int64_indices = rng() % 2;
      s.int64_offsets = rng() % 2;
      s.weighted = rng() % 2;
      int T = 1 + static_cast<int>(rng() % 4);
      int F = T + static_cast<int>(rng() % 3);
      int before = tsrec_test::failures();
      run_random_case(rng, opt, s, T, F, 3);
      if (tsrec_test::failures() != before) return;
    }
  }
}

TEST_CASE(large_batch_multithreaded_matches_reference) {
  // Big enough that the forward and the backward take their parallel paths.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 1);
  for (int opt = 0; opt < 4; ++opt) {
    BatchSpec s;
    s.B = 600;
    s.max_bag = 8;
    s.weighted = opt % 2;
    run_random_case(rng, opt, s, 3, 4, 2);
  }
}

TEST_CASE(large_gradient_takes_the_huge_page_copy_path) {
  // B * pooled_dim * 4 >= 2 MiB: the backward copies dL/dpooled into huge-page scratch first.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 4);
  std::vector<TableConfig> tables{{"a", 3000, 64, 0, 0}, {"b", 200, 64, 0, 0}};
  std::vector<FeatureConfig> features{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kMean}, {"fc", 0, Pooling::kNone}};
  for (int opt = 0; opt < 4; ++opt) {
    OptimizerConfig o = tsrec_test::random_optimizer(opt, rng);
    auto fast = tsrec_test::make_cpu_collection(tables, features, o, 21),
         ref = tsrec_test::make_cpu_collection(tables, features, o, 21);
    for (int step = 1; step <= 2; ++step) {
      RandomBatch rb;
      BatchSpec s;
      s.B = 4200;
      s.max_bag = 3;
      s.weighted = step == 2;
      make_batch(fast->layout(), s, rng, &rb);
      const int64_t P = fast->layout().pooled_dim * s.B;
      CHECK(P * 4 >= (int64_t{1} << 21));
      const int64_t S = SequenceOutputSize(fast->layout(), rb.batch);
      std::vector<float> gp(P), gs(S);
      for (auto& v : gp) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      CHECK(fast->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), 0.03f).ok());
      TbeBackwardReference(ref->layout(), ref->tables(), o, MakeOptimStep(o, 0.03f, step), rb.batch, gp.data(),
                           gs.data());
      std::string why;
      CHECK_MSG(same_state(*fast, *ref, 2e-5f, &why), "optimizer %s step %d: %s", optim_name(o.type), step,
                why.c_str());
    }
  }
}

TEST_CASE(aligned_output_takes_the_streaming_store_path) {
  // A 64-byte aligned pooled output with whole-line feature slots is written with
  // non-temporal stores; mixed slots (dim 4, 12) in the same output take the plain path.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 5);
  std::vector<TableConfig> tables{
      {"a", 500, 16, 0, 0}, {"b", 90, 64, 0, 0}, {"c", 30, 4, 0, 0}, {"d", 40, 12, 0, 0}, {"e", 70, 32, 0, 0}};
  std::vector<FeatureConfig> features{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kMean}, {"fc", 2, Pooling::kSum},
                                      {"fd", 3, Pooling::kSum}, {"fe", 4, Pooling::kMean}, {"fs", 1, Pooling::kNone}};
  auto c = tsrec_test::make_cpu_collection(tables, features, OptimizerConfig{}, 8);
  const TbeLayout& l = c->layout();
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
    CHECK(c->Forward(rb.batch, out->data(), seq.data()).ok());
    TbeForwardReference(l, c->tables(), rb.batch, ref.data(), seq_ref.data());
    int64_t m = first_mismatch(out->data(), ref.data(), P, 1e-5f, 1e-5f);
    CHECK_MSG(m < 0, "pooled[%ld] %g vs %g", (long)m, out->data()[m], ref[m]);
  }
}

TEST_CASE(forward_orders_are_bit_identical) {
  // The three visiting orders (feature, sample, blocks), forced, with the lean walks or (every
  // fourth trial) the generic ones, on random layouts (NONE features included), batch sizes
  // from 1 to past the pool's threshold, short and long bags, aligned (streaming) and plain
  // outputs, every index and offset type: bit-identical to each other, equal to the reference.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 11);
  for (int trial = 0; trial < 24; ++trial) {
    const int T = 1 + static_cast<int>(rng() % 4);
    auto tables = random_tables(rng, T);
    auto features = random_features(rng, T, T + static_cast<int>(rng() % 3));
    auto c = tsrec_test::make_cpu_collection(tables, features, OptimizerConfig{}, rng());
    CHECK(c != nullptr);
    const TbeLayout& l = c->layout();
    BatchSpec s;
    s.B = trial % 3 == 0 ? 1 + static_cast<int64_t>(rng() % 8) : 300 + static_cast<int64_t>(rng() % 900);
    s.max_bag = trial % 4 == 3 ? 20 : static_cast<int>(rng() % 4);
    s.int64_indices = rng() % 2;
    s.int64_offsets = rng() % 2;
    s.weighted = rng() % 2;
    RandomBatch rb;
    make_batch(l, s, rng, &rb);
    const int64_t P = l.pooled_dim * s.B, S = SequenceOutputSize(l, rb.batch);
    auto a = HostBuffer::Allocate(P + 1), b = HostBuffer::Allocate(P + 1),
         k = HostBuffer::Allocate(P + 1);  // 64-byte aligned
    std::vector<float> ref(P), sa(S, -1.f), sb(S, -2.f), sk(S, -3.f), sr(S);
    float* pa = a->data() + (trial % 2);  // odd trials: an unaligned output (no streaming stores)
    float* pb = b->data() + (trial % 2);
    float* pk = k->data() + (trial % 2);
    for (int64_t i = 0; i < P; ++i) pa[i] = -5.f, pb[i] = -6.f, pk[i] = -7.f;
    SetTbeLeanWalks(trial % 4 != 1);  // the generic walks in every fourth trial
    TbeForwardCpu(l, c->tables(), rb.batch, pa, sa.data(), ThreadPool::global(), TbeForwardOrder::kFeatureMajor);
    TbeForwardCpu(l, c->tables(), rb.batch, pb, sb.data(), ThreadPool::global(), TbeForwardOrder::kSampleMajor);
    TbeForwardCpu(l, c->tables(), rb.batch, pk, sk.data(), ThreadPool::global(), TbeForwardOrder::kBlocked);
    SetTbeLeanWalks(true);
    TbeForwardReference(l, c->tables(), rb.batch, ref.data(), sr.data());
    CHECK_MSG(std::memcmp(pa, pb, sizeof(float) * P) == 0,
              "trial %d: pooled outputs of the feature and sample orders differ", trial);
    CHECK_MSG(std::memcmp(pa, pk, sizeof(float) * P) == 0,
              "trial %d: pooled outputs of the feature and blocked orders differ", trial);
    CHECK_MSG(std::memcmp(sa.data(), sb.data(), sizeof(float) * S) == 0,
              "trial %d: sequence outputs of the two orders differ", trial);
    CHECK_MSG(std::memcmp(sa.data(), sk.data(), sizeof(float) * S) == 0,
              "trial %d: sequence outputs of the blocked order differ", trial);
    int64_t m = first_mismatch(pb, ref.data(), P, 1e-5f, 1e-5f);
    CHECK_MSG(m < 0, "trial %d: pooled[%ld] %g vs reference %g", trial, (long)m, pb[m], ref[m]);
    m = first_mismatch(sb.data(), sr.data(), S, 1e-6f, 1e-6f);
    CHECK_MSG(m < 0, "trial %d: sequence[%ld] %g vs reference %g", trial, (long)m, sb[m], sr[m]);
  }
}

TEST_CASE(lean_and_generic_walks_are_bit_identical) {
  // The lean forward and backward walks (tables without co-located members read by pooled
  // features, dim 4-128; every fourth trial a table read by two) against the generic walks, every optimizer with random
  // decay, clipping and max_norm, shared tables and other dims mixed in (those stay generic), SUM and MEAN with weights
  // and empty bags, batches below and above the thread threshold: the pooled outputs, weights and optimizer state must
  // be equal bit for bit.
  struct LeanGuard {
    ~LeanGuard() { SetTbeLeanWalks(true); }
  } guard;
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 13);
  const int dims[] = {4, 8, 16, 32, 64, 128, 12, 20};
  int lean_tables = 0, shared_lean_tables = 0;
  for (int trial = 0; trial < 32; ++trial) {
    const int T = 1 + static_cast<int>(rng() % 4);
    std::vector<TableConfig> tables;
    for (int t = 0; t < T; ++t)
      tables.push_back({"t" + std::to_string(t), 1 + static_cast<int64_t>(rng() % 3000), dims[rng() % 8], 0, 0});
    auto features = random_features(rng, T, T + static_cast<int>(rng() % 2));
    if (trial % 4 == 2) {  // a lean table read by two pooled features (the backward's shared-table case)
      tables[0].dim = 16;
      features[0].pooling = Pooling::kSum;
      features.push_back({"shared", 0, trial % 8 == 2 ? Pooling::kSum : Pooling::kMean});
    }
    const OptimizerConfig o = tsrec_test::random_optimizer(trial % 4, rng);
    const uint64_t seed = rng();
    auto a = tsrec_test::make_cpu_collection(tables, features, o, seed),
         b = tsrec_test::make_cpu_collection(tables, features, o, seed);
    CHECK(a && b);
    const TbeLayout& l = a->layout();
    for (int t = 0; t < T; ++t) {
      bool pooled = true;
      for (int32_t f : l.table_features[t]) pooled = pooled && l.features[f].pooling != Pooling::kNone;
      lean_tables += pooled && l.tables[t].dim != 12 && l.tables[t].dim != 20;
      shared_lean_tables += pooled && l.table_features[t].size() > 1 && l.tables[t].dim != 12 && l.tables[t].dim != 20;
    }
    for (int step = 1; step <= 3; ++step) {
      BatchSpec s;
      s.B = trial % 4 == 0 ? 1 + static_cast<int64_t>(rng() % 8) : 300 + static_cast<int64_t>(rng() % 900);
      s.max_bag = trial % 5 == 4 ? 20 : 1 + static_cast<int>(rng() % 3);
      s.int64_indices = rng() % 2;
      s.int64_offsets = rng() % 2;
      s.weighted = rng() % 2;
      RandomBatch rb;
      make_batch(l, s, rng, &rb);
      const int64_t P = l.pooled_dim * s.B, S = SequenceOutputSize(l, rb.batch);
      auto pa = HostBuffer::Allocate(P + 1), pb = HostBuffer::Allocate(P + 1);  // 64-byte aligned
      float* oa = pa->data() + (trial % 3 == 2);  // every third trial: unaligned (no streaming stores)
      float* ob = pb->data() + (trial % 3 == 2);
      std::vector<float> sa(S, -1.f), sb(S, -2.f), gp(P), gs(S);
      SetTbeLeanWalks(true);
      CHECK(a->Forward(rb.batch, oa, sa.data()).ok());
      SetTbeLeanWalks(false);
      CHECK(b->Forward(rb.batch, ob, sb.data()).ok());
      CHECK_MSG(std::memcmp(oa, ob, sizeof(float) * P) == 0, "trial %d step %d: pooled outputs differ", trial, step);
      CHECK_MSG(std::memcmp(sa.data(), sb.data(), sizeof(float) * S) == 0, "trial %d step %d: sequence outputs differ",
                trial, step);
      for (auto& v : gp) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      SetTbeLeanWalks(true);
      CHECK(a->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), 0.05f).ok());
      SetTbeLeanWalks(false);
      CHECK(b->BackwardAndUpdate(rb.batch, gp.data(), gs.data(), 0.05f).ok());
      for (int t = 0; t < T; ++t) {
        for (int k = kWeights; k < a->num_states(); ++k) {
          const auto& x = a->buffer(t, k);
          const auto& y = b->buffer(t, k);
          CHECK_MSG(std::memcmp(x->data(), y->data(), sizeof(float) * x->size()) == 0,
                    "trial %d step %d (%s): table %d buffer %d differs", trial, step, optim_name(o.type), t, k);
        }
      }
    }
  }
  CHECK_MSG(lean_tables >= 16, "only %d tables took the lean walks", lean_tables);
  CHECK_MSG(shared_lean_tables >= 8, "only %d lean tables were read by several features", shared_lean_tables);
}

TEST_CASE(init_by_row_ranges_equals_whole_table_init) {
  // InitTableRowsHost (how the CUDA collection stages a large table in chunks) must give
  // InitTableHost's values bit for bit, for every optimizer's state, any chunking.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 17);
  for (int opt = 0; opt < 4; ++opt) {
    TableConfig tc{"t", 1 + static_cast<int64_t>(rng() % 5000), 4 * (1 + static_cast<int>(rng() % 20)), 0, 0};
    if (opt % 2) tc.init_min = -0.3f, tc.init_max = 0.1f;
    OptimizerConfig o = tsrec_test::random_optimizer(opt, rng);
    const int t = static_cast<int>(rng() % 7);
    const uint64_t seed = rng();
    const int n_states = (has_row_state(o.type) ? 1 : 0) + elem_states(o.type);
    auto width = [&](int k) -> int64_t { return has_row_state(o.type) && k == 0 ? 1 : tc.dim; };
    std::vector<float> w(tc.rows * tc.dim);
    std::vector<std::vector<float>> st(n_states);
    std::vector<float*> stp;
    for (int k = 0; k < n_states; ++k) st[k].resize(tc.rows * width(k)), stp.push_back(st[k].data());
    InitTableHost(tc, o, seed, t, w.data(), stp);
    std::vector<float> w2(w.size(), -1.f);
    std::vector<std::vector<float>> st2(n_states);
    for (int k = 0; k < n_states; ++k) st2[k].assign(st[k].size(), -1.f);
    for (int64_t r0 = 0; r0 < tc.rows;) {
      const int64_t n = std::min<int64_t>(tc.rows - r0, 1 + static_cast<int64_t>(rng() % 900));
      std::vector<float*> sp;
      for (int k = 0; k < n_states; ++k) sp.push_back(st2[k].data() + r0 * width(k));
      InitTableRowsHost(tc, o, seed, t, r0, n, w2.data() + r0 * tc.dim, sp);
      r0 += n;
    }
    CHECK_MSG(std::memcmp(w.data(), w2.data(), 4 * w.size()) == 0, "%s: weights differ", optim_name(o.type));
    for (int k = 0; k < n_states; ++k)
      CHECK_MSG(std::memcmp(st[k].data(), st2[k].data(), 4 * st[k].size()) == 0, "%s: state %d differs",
                optim_name(o.type), k);
  }
}

TEST_CASE(edge_cases) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 2);
  // one-row table, every id duplicated, B = 1, T = 1
  for (int opt = 0; opt < 4; ++opt) {
    std::vector<TableConfig> t{{"one", 1, 8, 0, 0}};
    for (Pooling p : {Pooling::kSum, Pooling::kMean, Pooling::kNone}) {
      std::vector<FeatureConfig> f{{"f", 0, p}};
      OptimizerConfig o;
      o.type = static_cast<OptimType>(opt);
      auto a = tsrec_test::make_cpu_collection(t, f, o, 5), r = tsrec_test::make_cpu_collection(t, f, o, 5);
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
      std::vector<float> pooled(8), seq(32), gp(8, 0.5f), gs(32, 0.25f);
      CHECK(a->Forward(b, pooled.data(), seq.data()).ok());
      CHECK(a->BackwardAndUpdate(b, gp.data(), gs.data(), 0.1f).ok());
      TbeBackwardReference(r->layout(), r->tables(), o, MakeOptimStep(o, 0.1f, 1), b, gp.data(), gs.data());
      std::string why;
      CHECK_MSG(same_state(*a, *r, 1e-6f, &why), "%s", why.c_str());
    }
  }
  // MEAN with empty bags gives zeros and leaves rows untouched; empty batch (nnz = 0)
  {
    std::vector<TableConfig> t{{"t", 10, 4, 0, 0}};
    std::vector<FeatureConfig> f{{"f", 0, Pooling::kMean}};
    OptimizerConfig o;
    o.type = OptimType::kRowwiseAdagrad;
    auto a = tsrec_test::make_cpu_collection(t, f, o, 1), r = tsrec_test::make_cpu_collection(t, f, o, 1);
    std::vector<int32_t> idx{3};
    std::vector<int32_t> off{0, 0, 1, 1};
    TbeBatch b;
    b.indices = idx.data();
    b.num_indices = 1;
    b.offsets = off.data();
    b.num_offsets = 4;
    b.batch_size = 3;
    std::vector<float> pooled(12, 9.f), gp(12, 1.f);
    CHECK(a->Forward(b, pooled.data(), nullptr).ok());
    for (int d = 0; d < 4; ++d) CHECK(pooled[d] == 0.0f && pooled[8 + d] == 0.0f);
    CHECK(a->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
    for (int row = 0; row < 10; ++row) {
      if (row == 3) continue;
      CHECK(std::memcmp(a->buffer(0, kWeights)->data() + row * 4, r->buffer(0, kWeights)->data() + row * 4, 16) == 0);
      CHECK(a->buffer(0, 0)->data()[row] == 0.0f);
    }
    CHECK(a->buffer(0, 0)->data()[3] > 0.0f);
    std::vector<int32_t> off0{0, 0, 0, 0};
    b.num_indices = 0;
    b.offsets = off0.data();
    CHECK(a->Forward(b, pooled.data(), nullptr).ok());
    CHECK(a->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f).ok());
  }
}

TEST_CASE(deterministic_across_thread_counts) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 3);
  auto tables = random_tables(rng, 3);
  auto features = random_features(rng, 3, 5);
  for (auto& f : features) f.pooling = Pooling::kSum;
  OptimizerConfig o;
  o.type = OptimType::kAdam;
  std::vector<std::unique_ptr<CpuEmbeddingCollection>> runs;
  for (int threads : {1, 2, 3}) {
    ThreadPool::set_global_threads(threads);
    auto c = tsrec_test::make_cpu_collection(tables, features, o, 11);
    std::mt19937_64 r2(99);
    for (int step = 0; step < 3; ++step) {
      RandomBatch rb;
      BatchSpec s;
      s.B = 700;
      s.max_bag = 5;
      make_batch(c->layout(), s, r2, &rb);
      std::vector<float> gp(c->layout().pooled_dim * s.B);
      for (auto& v : gp) v = std::uniform_real_distribution<float>(-1, 1)(r2);
      CHECK(c->BackwardAndUpdate(rb.batch, gp.data(), nullptr, 0.01f).ok());
    }
    runs.push_back(std::move(c));
  }
  ThreadPool::set_global_threads(0);
  std::string why;
  CHECK_MSG(same_state(*runs[0], *runs[1], 0.0f, &why), "1 vs 2 threads: %s", why.c_str());
  CHECK_MSG(same_state(*runs[0], *runs[2], 0.0f, &why), "1 vs 3 threads: %s", why.c_str());
}

TEST_CASE(validation_errors_name_the_culprit) {
  std::vector<TableConfig> t{{"user", 100, 4, 0, 0}, {"item", 50, 8, 0, 0}};
  std::vector<FeatureConfig> f{{"user_id", 0, Pooling::kSum}, {"item_id", 1, Pooling::kMean}};
  auto c = tsrec_test::make_cpu_collection(t, f, OptimizerConfig{}, 1);
  std::vector<float> pooled(2 * 12), gp(2 * 12);
  auto run = [&](std::vector<int32_t> idx, std::vector<int32_t> off, int64_t B) {
    TbeBatch b;
    b.indices = idx.data();
    b.num_indices = static_cast<int64_t>(idx.size());
    b.offsets = off.data();
    b.num_offsets = static_cast<int64_t>(off.size());
    b.batch_size = B;
    std::vector<float> before(c->buffer(1, kWeights)->data(), c->buffer(1, kWeights)->data() + 400);
    Status s1 = c->BackwardAndUpdate(b, gp.data(), nullptr, 0.1f);
    // A rejected batch must never write memory.
    if (!s1.ok() && std::memcmp(before.data(), c->buffer(1, kWeights)->data(), 1600) != 0)
      return std::string("WROTE MEMORY");
    Status s = c->Forward(b, pooled.data(), nullptr);
    return s.ok() ? std::string("ok") : s.message();
  };
  std::string m = run({1, 2, 3, 50}, {0, 1, 2, 3, 4}, 2);
  CHECK_MSG(m.find("index 50 at position 3") != std::string::npos && m.find("feature 'item_id'") != std::string::npos &&
                m.find("table 'item'") != std::string::npos && m.find("sample 1") != std::string::npos &&
                m.find("< 50") != std::string::npos,
            "%s", m.c_str());
  m = run({1, -4, 3, 5}, {0, 1, 2, 3, 4}, 2);
  CHECK_MSG(m.find("negative index -4 at position 1") != std::string::npos && m.find("'user_id'") != std::string::npos,
            "%s", m.c_str());
  m = run({1, 2, 3, 5}, {0, 2, 1, 3, 4}, 2);
  CHECK_MSG(m.find("non-decreasing") != std::string::npos && m.find("offsets[2] = 1") != std::string::npos, "%s",
            m.c_str());
  m = run({1, 2, 3, 5}, {0, 1, 2, 3}, 2);
  CHECK_MSG(m.find("F*B+1 = 5") != std::string::npos && m.find("received 4") != std::string::npos, "%s", m.c_str());
  m = run({1, 2, 3, 5}, {0, 1, 2, 3, 3}, 2);
  CHECK_MSG(m.find("last offset") != std::string::npos, "%s", m.c_str());
  m = run({1, 2, 3, 5}, {1, 1, 2, 3, 4}, 2);
  CHECK_MSG(m.find("offsets[0] == 0") != std::string::npos, "%s", m.c_str());
  CHECK(run({1, 2, 3, 49}, {0, 1, 2, 3, 4}, 2) == "ok");
  // Bad configs
  std::unique_ptr<CpuEmbeddingCollection> bad;
  Status s =
      CpuEmbeddingCollection::Create({{"x", 10, 6, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, &bad);
  CHECK_MSG(
      !s.ok() && s.message().find("multiple of 4") != std::string::npos && s.message().find("'x'") != std::string::npos,
      "%s", s.message().c_str());
  s = CpuEmbeddingCollection::Create({{"x", 10, 4, 0, 0}}, {{"f", 3, Pooling::kSum}}, OptimizerConfig{}, 1, &bad);
  CHECK_MSG(!s.ok() && s.message().find("feature 'f' names table 3") != std::string::npos, "%s", s.message().c_str());
  s = CpuEmbeddingCollection::Create({{"x", 0, 4, 0, 0}}, {{"f", 0, Pooling::kSum}}, OptimizerConfig{}, 1, &bad);
  CHECK_MSG(!s.ok() && s.message().find("rows > 0") != std::string::npos, "%s", s.message().c_str());
}

TEST_CASE(init_is_seeded_and_in_range) {
  std::vector<TableConfig> t{{"a", 400, 16, 0, 0}, {"b", 30, 4, -0.5f, 0.25f}};
  std::vector<FeatureConfig> f{{"fa", 0, Pooling::kSum}, {"fb", 1, Pooling::kSum}};
  auto x = tsrec_test::make_cpu_collection(t, f, OptimizerConfig{}, 42),
       y = tsrec_test::make_cpu_collection(t, f, OptimizerConfig{}, 42),
       z = tsrec_test::make_cpu_collection(t, f, OptimizerConfig{}, 43);
  std::string why;
  CHECK(same_state(*x, *y, 0.0f, &why));
  CHECK(!same_state(*x, *z, 0.0f, &why));
  const float* a = x->buffer(0, kWeights)->data();
  for (int i = 0; i < 400 * 16; ++i) CHECK(a[i] >= -0.05f && a[i] < 0.05f);
  const float* b = x->buffer(1, kWeights)->data();
  for (int i = 0; i < 120; ++i) CHECK(b[i] >= -0.5f && b[i] < 0.25f);
  CHECK(x->table_bytes(0) == 400 * 16 * 4);
}

int main() {
  std::printf("seed %llu (set TSREC_TEST_SEED to replay)\n",
              static_cast<unsigned long long>(tsrec_test::seed_from_env()));
  return tsrec_test::run_all("tbe_cpu");
}
