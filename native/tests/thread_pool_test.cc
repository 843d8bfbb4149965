// ThreadPool: static splits and dynamic chunks cover every item exactly once, helpers that
// wake after a dynamic job closed skip it, and static and dynamic jobs interleave safely.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_util.h"
#include "tsrec/thread_pool.h"

using tsrec::ThreadPool;

TEST_CASE(dynamic_chunks_cover_every_item_once) {
  std::mt19937_64 rng(std::random_device{}());
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int trial = 0; trial < 200; ++trial) {
      const int64_t n = static_cast<int64_t>(rng() % 5000);
      const int64_t grain = 1 + static_cast<int64_t>(rng() % 300);
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (auto& h : hits) h = 0;
      std::atomic<int> bad_tid{0};
      pool.parallel_for_dynamic(n, grain, [&](int64_t b, int64_t e, int tid) {
        if (tid < 0 || tid >= threads || (threads > 1 && e - b > grain) || b >= e) ++bad_tid;
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
      });
      CHECK(bad_tid == 0);
      for (int64_t i = 0; i < n; ++i)
        CHECK_MSG(hits[static_cast<size_t>(i)] == 1, "threads %d n %ld grain %ld item %ld", threads, (long)n,
                  (long)grain, (long)i);
    }
  }
}

TEST_CASE(static_and_dynamic_jobs_interleave) {
  // Alternating jobs, some with a slow caller so helpers finish first, some with a slow chunk so
  // the caller closes the job while a helper still runs: the sums must come out exact each time.
  ThreadPool pool(4);
  for (int round = 0; round < 300; ++round) {
    std::atomic<int64_t> sum{0};
    if (round % 3 == 0) {
      pool.run([&](int tid, int nt) {
        sum += tid;
        if (tid == 0 && round % 2) std::this_thread::sleep_for(std::chrono::microseconds(50));
        (void)nt;
      });
      CHECK(sum == 0 + 1 + 2 + 3);
    } else {
      const int64_t n = 1000 + round;
      pool.parallel_for_dynamic(n, 7, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) sum += i;
        if (b == 0 && round % 2) std::this_thread::sleep_for(std::chrono::microseconds(100));
      });
      CHECK(sum == n * (n - 1) / 2);
    }
    pool.parallel_for(64, [&](int64_t b, int64_t e, int) { sum += e - b; });
  }
}

TEST_CASE(tiny_and_empty_ranges) {
  ThreadPool pool(2);
  std::atomic<int> calls{0};
  pool.parallel_for_dynamic(0, 10, [&](int64_t, int64_t, int) { ++calls; });
  CHECK(calls == 0);
  pool.parallel_for_dynamic(5, 0,
                            [&](int64_t b, int64_t e, int) { calls += static_cast<int>(e - b); });  // grain 0 acts as 1
  CHECK(calls == 5);
  int64_t got_b = -1, got_e = -1;
  pool.parallel_for_dynamic(3, 100, [&](int64_t b, int64_t e, int tid) {
    got_b = b;
    got_e = e;
    CHECK(tid == 0);  // one chunk runs on the caller
  });
  CHECK(got_b == 0 && got_e == 3);
}

TEST_CASE(a_throwing_caller_waits_for_its_helpers) {
  // The job lives on the caller's stack: a throw from the caller's share must still wait for
  // every helper that joined before it propagates (helpers here run chunks for a while).
  ThreadPool pool(3);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> done{0};
    bool thrown = false;
    try {
      pool.parallel_for_dynamic(64, 1, [&](int64_t b, int64_t, int tid) {
        if (tid == 0 && b >= 2) throw std::runtime_error("caller fails");
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        ++done;
      });
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    CHECK(thrown);
    const int seen = done.load();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    CHECK(done.load() == seen);                           // no helper still running the closed job
    pool.parallel_for(8, [&](int64_t, int64_t, int) {});  // the pool still works
  }
}

int main() {
  unsetenv("TSREC_STATIC_SCHEDULE");  // these tests are about the dynamic schedule
  return tsrec_test::run_all("thread_pool");
}
