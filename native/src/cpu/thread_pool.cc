#include "tsrec/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>

namespace tsrec {

namespace {
// TSREC_STATIC_SCHEDULE=1 turns parallel_for_dynamic into parallel_for (for A/B measurements).
// True on a thread while it runs a pool job: a nested parallel region runs serially (dispatching
// again from inside a job would wait on itself).
thread_local bool tls_in_job = false;

bool static_schedule() {
  static const bool on = [] {
    const char* s = std::getenv("TSREC_STATIC_SCHEDULE");
    return s && s[0] == '1';
  }();
  return on;
}
}  // namespace

bool ThreadPool::in_job() { return tls_in_job; }

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  for (int t = 1; t < num_threads_; ++t) threads_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_start_.notify_all();
  for (auto& th : threads_) th.join();
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_start_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    const std::function<void(int, int)>* job = job_;
    if (!job) continue;  // a dynamic job that closed before this helper woke
    ++joined_;
    ++active_;
    lk.unlock();
    tls_in_job = true;
    (*job)(tid, num_threads_);
    tls_in_job = false;
    lk.lock();
    if (--active_ == 0) cv_done_.notify_one();
  }
}

void ThreadPool::dispatch(const std::function<void(int, int)>& job, bool every_helper) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &job;
    joined_ = 0;
    ++generation_;
  }
  cv_start_.notify_all();
  // The job lives on the caller's stack: even when the caller's share throws, wait for the
  // helpers before it unwinds.
  std::exception_ptr error;
  tls_in_job = true;
  try {
    job(0, num_threads_);
  } catch (...) {
    error = std::current_exception();
  }
  tls_in_job = false;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (every_helper) {
      // Static splits: every helper must take the job; wait for all to join and leave.
      cv_done_.wait(lk, [&] { return joined_ == num_threads_ - 1 && active_ == 0; });
      job_ = nullptr;
    } else {
      // Close the job (a helper waking from now on skips it), then wait for the ones that joined.
      job_ = nullptr;
      cv_done_.wait(lk, [&] { return active_ == 0; });
    }
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (num_threads_ == 1 || tls_in_job) {
    fn(0, 1);
    return;
  }
  dispatch(fn, true);
}

void ThreadPool::parallel_for_dynamic(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  if (static_schedule()) {
    parallel_for(n, fn);
    return;
  }
  grain = std::max<int64_t>(1, grain);
  const int64_t chunks = (n + grain - 1) / grain;
  if (num_threads_ == 1 || chunks == 1 || tls_in_job) {
    fn(0, n, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  dispatch(
      [&](int tid, int) {
        for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
          fn(c * grain, std::min(n, (c + 1) * grain), tid);
      },
      false);
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  int nt = static_cast<int>(std::min<int64_t>(num_threads_, n));
  if (nt == 1) {
    fn(0, n, 0);
    return;
  }
  run([&](int tid, int total) {
    int64_t chunk = (n + total - 1) / total;
    int64_t b = std::min<int64_t>(n, tid * chunk), e = std::min<int64_t>(n, b + chunk);
    if (b < e) fn(b, e, tid);
  });
}

namespace {
std::unique_ptr<ThreadPool>& global_slot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
int default_threads() {
  if (const char* s = std::getenv("TSREC_NUM_THREADS")) {
    int n = std::atoi(s);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}
}  // namespace

namespace {
std::atomic<int64_t>& parallel_min_work() {
  static std::atomic<int64_t> v{[] {
    const char* s = std::getenv("TSREC_PARALLEL_MIN_WORK");
    const long long n = s ? std::atoll(s) : 0;
    return n > 0 ? static_cast<int64_t>(n) : int64_t{1} << 18;
  }()};
  return v;
}
}  // namespace

int64_t ParallelMinWork() { return parallel_min_work().load(std::memory_order_relaxed); }

void SetParallelMinWork(int64_t n) { parallel_min_work().store(std::max<int64_t>(1, n), std::memory_order_relaxed); }

ThreadPool& ThreadPool::global() {
  auto& p = global_slot();
  if (!p) p = std::make_unique<ThreadPool>(default_threads());
  return *p;
}

void ThreadPool::set_global_threads(int n) {
  global_slot() = std::make_unique<ThreadPool>(n > 0 ? n : default_threads());
}

}  // namespace tsrec
