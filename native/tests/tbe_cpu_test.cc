// The fast CPU TBE kernels: every case of tbe_cases.h on the CPU placement (against the naive
// references: pooled outputs, updated weights and optimizer state, for every optimizer and
// pooling, on random shapes with a fresh seed per run, printed; set TSREC_TEST_SEED to replay;
// the edge cases and every validation error), plus what only the CPU has: its forward visiting
// orders, its lean and generic walks, initialisation by row ranges and thread counts.
#include <cstring>
#include <memory>

#include "tbe_cases.h"
#include "tbe_placement.h"
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
using tsrec_test::same_state;

TEST_CASE(forward_orders_are_bit_identical) {
  // The three visiting orders (feature, sample, blocks), forced, with the lean walks or (every
  // fourth trial) the generic ones, on random layouts (NONE features included), batch sizes
  // from 1 to past the pool's threshold, short and long bags, aligned (streaming) and plain
  // outputs, every index and offset type: bit-identical to each other, equal to the reference.
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 11);
  for (int trial = 0; trial < 24; ++trial) {
    const int T = 1 + static_cast<int>(rng() % 4);
    auto tables = random_tables(rng, T, false, true);
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

TEST_CASE(deterministic_across_thread_counts) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() + 3);
  auto tables = random_tables(rng, 3, false, true);
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

int main() {
  std::printf("seed %llu (set TSREC_TEST_SEED to replay)\n",
              static_cast<unsigned long long>(tsrec_test::seed_from_env()));
  tsrec_test::add_placed_cases(tsrec_test::kCpuPlacement);
  return tsrec_test::run_all("tbe_cpu");
}
