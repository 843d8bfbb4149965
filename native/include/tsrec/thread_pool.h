// A small persistent thread pool (the calling thread is worker 0). `run` and `parallel_for` split
// work statically across all threads; `parallel_for_dynamic` hands out chunks through an atomic
// cursor and joins only the helpers that arrived, so a helper the OS schedules late (on a busy
// core) costs nothing. Kernels only use it where each item's result is independent of which
// thread computes it, so results never depend on scheduling.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tsrec {

/** Persistent workers running one parallel region at a time. */
class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }
  /** Runs fn(tid, num_threads) on every thread (the caller is tid 0) and waits for all. */
  void run(const std::function<void(int, int)>& fn);
  /** Splits [0, n) into num_threads contiguous ranges and runs fn(begin, end, tid). */
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);
  /**
   * Runs fn(begin, end, tid) over [0, n) in chunks of `grain` (the last may be shorter; a
   * one-thread pool, or TSREC_STATIC_SCHEDULE=1, passes larger ranges), each item once, on
   * whichever threads are free: the caller starts at once, helpers join as they
   * wake, and the call returns when every chunk is done and every helper that joined has left.
   * Use it only where the result of a chunk does not depend on the thread (tid is for scratch).
   */
  void parallel_for_dynamic(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

  /** The process-wide pool (size: TSREC_NUM_THREADS or hardware concurrency). */
  static ThreadPool& global();
  /** Replaces the global pool with one of n threads (n <= 0: hardware concurrency). */
  static void set_global_threads(int n);
  /** True on a thread while it runs a share of a pool job (a nested parallel region runs serially). */
  static bool in_job();

 private:
  void worker(int tid);
  /**
   * Publishes `job` to the helpers, runs the caller's share (tid 0) and waits: for every helper
   * to run it (`every_helper`, static splits), or only for those that joined before the caller
   * finished (dynamic chunks; later ones skip it). Rethrows what the caller's share threw.
   */
  void dispatch(const std::function<void(int, int)>& job, bool every_helper);
  int num_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const std::function<void(int, int)>* job_ = nullptr;  // null: no job open to helpers
  uint64_t generation_ = 0;
  int joined_ = 0;  // helpers that took the current job
  int active_ = 0;  // helpers still running it
  bool stop_ = false;
};

/**
 * Below this many elements of work, one thread beats waking the pool (elementwise-scale kernels).
 * 2^18: on a loaded 2-vCPU VM a dispatch costs 30–100 µs when the helper must first be scheduled
 * (native/bench/NOTES.md, session 8), about what a 2^18-element pass takes on one thread.
 * TSREC_PARALLEL_MIN_WORK=n overrides it (read once); tests lower it with SetParallelMinWork so
 * that small shapes still run the multi-threaded paths.
 */
int64_t ParallelMinWork();
void SetParallelMinWork(int64_t n);

/**
 * Runs fn(begin, end) over [0, n): on the calling thread alone when n · work_per_item is below
 * ParallelMinWork() (or n < 2), else split across the global pool.
 */
template <typename F>
void ForRanges(int64_t n, int64_t work_per_item, F&& fn) {
  if (n * work_per_item < ParallelMinWork() || n < 2) {
    fn(int64_t{0}, n);
  } else {
    ThreadPool& pool = ThreadPool::global();
    // Items are independent: chunks go to whichever thread is free (about 4 per thread).
    const int64_t grain = std::max<int64_t>(1, n / (4 * pool.num_threads()));
    pool.parallel_for_dynamic(n, grain, [&](int64_t b, int64_t e, int) { fn(b, e); });
  }
}

}  // namespace tsrec
