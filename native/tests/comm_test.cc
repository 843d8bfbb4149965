// The ordered allreduce's arithmetic (ReduceInRankOrder) and chunking (ChunkBegin), which the
// MPI communicator and its JS simulation (packages/native/src/comm.ts SimWorld) share: sums in
// rank order one float operation at a time, NaN-propagating max/min, chunks that tile [0, n).
// The collectives themselves run under mpirun in test/dist (npx nx run e2e:dist).
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "test_util.h"
#include "tsrec/comm.h"

using namespace tsrec;

TEST_CASE(chunks_tile_the_buffer_in_order) {
  for (int w = 1; w <= 9; ++w)
    for (int64_t n : {0, 1, 2, 7, 8, 9, 1000, 1 << 20}) {
      CHECK(ChunkBegin(n, w, 0) == 0);
      CHECK(ChunkBegin(n, w, w) == n);
      for (int c = 0; c < w; ++c) {
        const int64_t len = ChunkBegin(n, w, c + 1) - ChunkBegin(n, w, c);
        CHECK_MSG(len >= n / w && len <= n / w + 1, "n=%lld w=%d c=%d len=%lld", (long long)n, w, c, (long long)len);
      }
    }
}

TEST_CASE(sum_is_the_rank_order_sum_bit_for_bit) {
  const uint64_t seed = ::tsrec_test::seed_from_env();
  std::mt19937 rng(static_cast<uint32_t>(seed));
  for (int trial = 0; trial < 50; ++trial) {
    const int w = 1 + static_cast<int>(rng() % 8);
    const int64_t n = static_cast<int64_t>(rng() % 300);
    std::vector<std::vector<float>> parts(static_cast<size_t>(w), std::vector<float>(static_cast<size_t>(n)));
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& p : parts)
      for (auto& x : p) x = u(rng) * std::pow(10.0f, static_cast<float>(static_cast<int>(rng() % 9) - 4));
    std::vector<const float*> ptrs;
    for (auto& p : parts) ptrs.push_back(p.data());
    std::vector<float> out(static_cast<size_t>(n));
    ReduceInRankOrder(ptrs.data(), w, n, ReduceOp::kSum, out.data());
    for (int64_t i = 0; i < n; ++i) {
      volatile float s = parts[0][static_cast<size_t>(i)];
      for (int r = 1; r < w; ++r) s = s + parts[static_cast<size_t>(r)][static_cast<size_t>(i)];
      CHECK_MSG(std::memcmp(&out[static_cast<size_t>(i)], const_cast<float*>(&s), 4) == 0,
                "w=%d n=%lld i=%lld (TSREC_TEST_SEED=%llu)", w, (long long)n, (long long)i, (unsigned long long)seed);
    }
  }
}

TEST_CASE(in_place_on_the_first_part) {
  std::vector<float> a = {1, 2, 3}, b = {10, 20, 30}, c = {100, 200, 300};
  const float* ptrs[] = {a.data(), b.data(), c.data()};
  ReduceInRankOrder(ptrs, 3, 3, ReduceOp::kSum, a.data());
  CHECK(a[0] == 111 && a[1] == 222 && a[2] == 333);
}

TEST_CASE(max_and_min_propagate_nan_and_keep_the_earlier_of_ties) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a = {1, nan, 5, -0.0f, 3}, b = {2, 1, nan, 0.0f, 3};
  const float* ptrs[] = {a.data(), b.data()};
  std::vector<float> mx(5), mn(5);
  ReduceInRankOrder(ptrs, 2, 5, ReduceOp::kMax, mx.data());
  ReduceInRankOrder(ptrs, 2, 5, ReduceOp::kMin, mn.data());
  CHECK(mx[0] == 2 && std::isnan(mx[1]) && std::isnan(mx[2]) && std::signbit(mx[3]) && mx[4] == 3);
  CHECK(mn[0] == 1 && std::isnan(mn[1]) && std::isnan(mn[2]) && std::signbit(mn[3]) && mn[4] == 3);
}

TEST_CASE(empty_inputs_are_a_no_op) {
  float x = 7;
  const float* ptrs[] = {&x};
  ReduceInRankOrder(ptrs, 1, 0, ReduceOp::kSum, &x);
  ReduceInRankOrder(ptrs, 0, 1, ReduceOp::kSum, &x);
  CHECK(x == 7);
}

TEST_CASE(compiled_matches_the_build) {
#ifdef OMPI_SKIP_MPICXX
  CHECK(Comm::Compiled());
#else
  CHECK(!Comm::Compiled());
#endif
}

int main() { return ::tsrec_test::run_all("comm"); }
