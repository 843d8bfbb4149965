// Comm over MPI: one thread calls MPI_Init_thread(MPI_THREAD_FUNNELED) and every later MPI
// function; collectives run one at a time in enqueue order as non-blocking MPI calls, waited
// for with MPI_Testall and a sleep back-off (a blocking wait would spin a core per rank).
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "tsrec/comm.h"

namespace tsrec {

namespace {

std::string MpiError(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, static_cast<size_t>(len));
}

MPI_Op MpiOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
    default:
      return MPI_SUM;
  }
}

/** int64 byte counts as MPI's int counts; false when one does not fit. */
bool ToInts(const int64_t* v, int n, std::vector<int>* out) {
  out->resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (v[i] < 0 || v[i] > INT_MAX) return false;
    (*out)[static_cast<size_t>(i)] = static_cast<int>(v[i]);
  }
  return true;
}

/** A collective in flight: posts requests stage by stage until it is done. */
struct Op {
  virtual ~Op() = default;
  /** Posts the next stage's requests into `reqs` (empty: finished) or fails. */
  virtual Status Next(int stage, std::vector<MPI_Request>* reqs) = 0;
  CommDone done;
  const char* name = "";
};

class MpiComm final : public Comm {
 public:
  ~MpiComm() override { Close(); }

  Status Init() {
    std::unique_lock<std::mutex> lock(mu_);
    thread_ = std::thread([this] { Run(); });
    cv_.wait(lock, [this] { return started_; });
    return init_status_;
  }

  CommInfo info() const override { return info_; }
  CommStats stats() const override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    return stats_;
  }
  void SetTimeoutSeconds(double s) override { timeout_s_.store(s > 0 ? s : 0); }

  void AllreduceOrdered(float* buf, int64_t n, ReduceOp op, CommDone done) override;
  void AllreduceInt64(int64_t* buf, int64_t n, ReduceOp op, CommDone done) override;
  void Alltoallv(const void* send, const int64_t* send_counts, const int64_t* send_displs, void* recv,
                 const int64_t* recv_counts, const int64_t* recv_displs, CommDone done) override;
  void Allgatherv(const void* send, void* recv, const int64_t* counts, const int64_t* displs, CommDone done) override;
  void Broadcast(void* buf, int64_t bytes, int root, CommDone done) override;
  void Barrier(CommDone done) override;

  void Close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!thread_.joinable()) return;
      closing_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Abandon() override {
    abandon_.store(true);
    abort_.store(true);
    cv_.notify_all();
  }

  void Abort(int code) override {
    abort_code_.store(code);
    abort_.store(true);
    cv_.notify_all();
  }

 private:
  void Enqueue(std::unique_ptr<Op> op) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) {
        op->done(Status::Unavailable("the communicator is closed"));
        return;
      }
      queue_.push_back(std::move(op));
    }
    cv_.notify_all();
  }

  void Count(int64_t CommStats::*field, int64_t bytes) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.*field += bytes;
  }

  void Run();
  Status RunOp(Op* op);

  CommInfo info_;
  Status init_status_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_;
  bool started_ = false;
  bool closing_ = false;
  Status broken_;  // after a timeout or an MPI error: every later collective fails with it
  std::atomic<double> timeout_s_{0};
  std::atomic<bool> abort_{false};
  std::atomic<bool> abandon_{false};
  std::atomic<int> abort_code_{1};
  mutable std::mutex stats_mu_;
  CommStats stats_;
};

void MpiComm::Run() {
  int provided = 0;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (rc != MPI_SUCCESS) {
      init_status_ = Status::Unavailable("MPI_Init_thread failed: " + MpiError(rc));
    } else {
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &info_.rank);
      MPI_Comm_size(MPI_COMM_WORLD, &info_.size);
      MPI_Comm local;
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, info_.rank, MPI_INFO_NULL, &local);
      MPI_Comm_rank(local, &info_.local_rank);
      MPI_Comm_size(local, &info_.local_size);
      MPI_Comm_free(&local);
      char lib[MPI_MAX_LIBRARY_VERSION_STRING];
      int len = 0;
      MPI_Get_library_version(lib, &len);
      std::string s(lib, static_cast<size_t>(len));
      info_.library = s.substr(0, s.find_first_of("\r\n,"));
    }
    started_ = true;
  }
  cv_.notify_all();
  if (rc != MPI_SUCCESS) return;
  for (;;) {
    std::unique_ptr<Op> op;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return closing_ || abort_.load() || !queue_.empty(); });
      if (abort_.load()) break;
      if (queue_.empty()) break;  // closing, nothing left
      op = std::move(queue_.front());
      queue_.pop_front();
    }
    Status st = broken_.ok() ? RunOp(op.get()) : broken_;
    if (!st.ok() && broken_.ok()) broken_ = st;
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.ops;
    }
    op->done(st);
  }
  if (abort_.load() && !abandon_.load()) MPI_Abort(MPI_COMM_WORLD, abort_code_.load());
  // Ops enqueued after a close or an abort: failed, never dropped silently.
  std::deque<std::unique_ptr<Op>> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(queue_);
  }
  for (auto& op : rest) op->done(Status::Unavailable("the communicator is closed"));
  if (!abandon_.load()) MPI_Finalize();
}

Status MpiComm::RunOp(Op* op) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<MPI_Request> reqs;
  for (int stage = 0;; ++stage) {
    reqs.clear();
    TSREC_RETURN_IF_ERROR(op->Next(stage, &reqs));
    if (reqs.empty()) return Status::Ok();
    // Wait: a short spin, then sleeps doubling from 1 us to 200 us.
    int64_t sleep_us = 0;
    for (int spins = 0;; ++spins) {
      int flag = 0;
      const int rc = MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &flag, MPI_STATUSES_IGNORE);
      if (rc != MPI_SUCCESS) return Status::Internal(std::string(op->name) + " failed: " + MpiError(rc));
      if (flag) break;
      if (abort_.load()) return Status::Unavailable(std::string(op->name) + " was interrupted: the job is aborting");
      const double limit = timeout_s_.load();
      if (limit > 0) {
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (waited > limit) {
          char secs[32];
          std::snprintf(secs, sizeof(secs), "%g", limit);
          return Status::Unavailable(std::string(op->name) + " did not complete within " + secs +
                                     " s (collective timeout): another rank is gone or stuck");
        }
      }
      if (spins < 64) continue;
      sleep_us = sleep_us == 0 ? 1 : std::min<int64_t>(sleep_us * 2, 200);
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
    }
  }
}

void MpiComm::AllreduceOrdered(float* buf, int64_t n, ReduceOp op_kind, CommDone done) {
  struct AllreduceOp : Op {
    MpiComm* self;
    float* buf;
    int64_t n;
    ReduceOp op;
    int w = 1, r = 0;
    std::vector<int> scounts, sdispls, rcounts, rdispls;
    std::vector<float> scratch;
    Status Next(int stage, std::vector<MPI_Request>* reqs) override {
      const int64_t my_begin = ChunkBegin(n, w, r), my_len = ChunkBegin(n, w, r + 1) - my_begin;
      if (w == 1 || n == 0) return Status::Ok();
      if (stage == 0) {
        // Each rank receives every rank's copy of its own chunk.
        if (my_len * w > INT_MAX || n > static_cast<int64_t>(INT_MAX))
          return Status::InvalidArgument("allreduce: " + std::to_string(n) +
                                         " floats are more than one collective moves; split the buffer");
        scounts.resize(static_cast<size_t>(w));
        sdispls.resize(static_cast<size_t>(w));
        rcounts.assign(static_cast<size_t>(w), static_cast<int>(my_len));
        rdispls.resize(static_cast<size_t>(w));
        for (int j = 0; j < w; ++j) {
          sdispls[static_cast<size_t>(j)] = static_cast<int>(ChunkBegin(n, w, j));
          scounts[static_cast<size_t>(j)] = static_cast<int>(ChunkBegin(n, w, j + 1) - ChunkBegin(n, w, j));
          rdispls[static_cast<size_t>(j)] = static_cast<int>(my_len * j);
        }
        scratch.resize(static_cast<size_t>(my_len * w));
        reqs->emplace_back();
        const int rc = MPI_Ialltoallv(buf, scounts.data(), sdispls.data(), MPI_FLOAT, scratch.data(), rcounts.data(),
                                      rdispls.data(), MPI_FLOAT, MPI_COMM_WORLD, &reqs->back());
        if (rc != MPI_SUCCESS) return Status::Internal("allreduce (all-to-all) failed: " + MpiError(rc));
        self->Count(&CommStats::allreduce_bytes, (n - my_len) * 4);
        return Status::Ok();
      }
      if (stage == 1) {
        std::vector<const float*> parts(static_cast<size_t>(w));
        for (int i = 0; i < w; ++i) parts[static_cast<size_t>(i)] = scratch.data() + my_len * i;
        ReduceInRankOrder(parts.data(), w, my_len, op, buf + my_begin);
        for (int j = 0; j < w; ++j) rcounts[static_cast<size_t>(j)] = scounts[static_cast<size_t>(j)];
        reqs->emplace_back();
        const int rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, rcounts.data(), sdispls.data(),
                                       MPI_FLOAT, MPI_COMM_WORLD, &reqs->back());
        if (rc != MPI_SUCCESS) return Status::Internal("allreduce (all-gather) failed: " + MpiError(rc));
        self->Count(&CommStats::allreduce_bytes, my_len * 4 * (w - 1));
        return Status::Ok();
      }
      return Status::Ok();
    }
  };
  auto o = std::make_unique<AllreduceOp>();
  o->self = this;
  o->buf = buf;
  o->n = n;
  o->op = op_kind;
  o->w = info_.size;
  o->r = info_.rank;
  o->done = std::move(done);
  o->name = "allreduce";
  Enqueue(std::move(o));
}

void MpiComm::AllreduceInt64(int64_t* buf, int64_t n, ReduceOp op_kind, CommDone done) {
  struct IntOp : Op {
    MpiComm* self;
    int64_t* buf;
    int64_t n;
    ReduceOp op;
    int w;
    Status Next(int stage, std::vector<MPI_Request>* reqs) override {
      if (stage > 0 || w == 1 || n == 0) return Status::Ok();
      if (n > INT_MAX) return Status::InvalidArgument("allreduceInt64: too many elements");
      reqs->emplace_back();
      const int rc =
          MPI_Iallreduce(MPI_IN_PLACE, buf, static_cast<int>(n), MPI_INT64_T, MpiOp(op), MPI_COMM_WORLD, &reqs->back());
      if (rc != MPI_SUCCESS) return Status::Internal("allreduceInt64 failed: " + MpiError(rc));
      self->Count(&CommStats::allreduce_bytes, 2 * (w - 1) * n * 8 / w);
      return Status::Ok();
    }
  };
  auto o = std::make_unique<IntOp>();
  o->self = this;
  o->buf = buf;
  o->n = n;
  o->op = op_kind;
  o->w = info_.size;
  o->done = std::move(done);
  o->name = "allreduceInt64";
  Enqueue(std::move(o));
}

void MpiComm::Alltoallv(const void* send, const int64_t* send_counts, const int64_t* send_displs, void* recv,
                        const int64_t* recv_counts, const int64_t* recv_displs, CommDone done) {
  struct A2aOp : Op {
    MpiComm* self;
    const void* send;
    void* recv;
    int w, r;
    std::vector<int> sc, sd, rc, rd;
    bool fits = true;
    Status Next(int stage, std::vector<MPI_Request>* reqs) override {
      if (stage > 0) return Status::Ok();
      if (!fits) return Status::InvalidArgument("alltoallv: a count or displacement exceeds 2^31-1 bytes");
      reqs->emplace_back();
      const int e = MPI_Ialltoallv(send, sc.data(), sd.data(), MPI_BYTE, recv, rc.data(), rd.data(), MPI_BYTE,
                                   MPI_COMM_WORLD, &reqs->back());
      if (e != MPI_SUCCESS) return Status::Internal("alltoallv failed: " + MpiError(e));
      int64_t bytes = 0;
      for (int j = 0; j < w; ++j)
        if (j != r) bytes += sc[static_cast<size_t>(j)];
      self->Count(&CommStats::alltoall_bytes, bytes);
      return Status::Ok();
    }
  };
  auto o = std::make_unique<A2aOp>();
  o->self = this;
  o->send = send;
  o->recv = recv;
  o->w = info_.size;
  o->r = info_.rank;
  o->fits = ToInts(send_counts, o->w, &o->sc) && ToInts(send_displs, o->w, &o->sd) &&
            ToInts(recv_counts, o->w, &o->rc) && ToInts(recv_displs, o->w, &o->rd);
  o->done = std::move(done);
  o->name = "alltoallv";
  Enqueue(std::move(o));
}

void MpiComm::Allgatherv(const void* send, void* recv, const int64_t* counts, const int64_t* displs, CommDone done) {
  struct AgOp : Op {
    MpiComm* self;
    const void* send;
    void* recv;
    int w, r;
    std::vector<int> c, d;
    bool fits = true;
    Status Next(int stage, std::vector<MPI_Request>* reqs) override {
      if (stage > 0) return Status::Ok();
      if (!fits) return Status::InvalidArgument("allgatherv: a count or displacement exceeds 2^31-1 bytes");
      reqs->emplace_back();
      const int e = MPI_Iallgatherv(send, c[static_cast<size_t>(r)], MPI_BYTE, recv, c.data(), d.data(), MPI_BYTE,
                                    MPI_COMM_WORLD, &reqs->back());
      if (e != MPI_SUCCESS) return Status::Internal("allgatherv failed: " + MpiError(e));
      self->Count(&CommStats::allgather_bytes, static_cast<int64_t>(c[static_cast<size_t>(r)]) * (w - 1));
      return Status::Ok();
    }
  };
  auto o = std::make_unique<AgOp>();
  o->self = this;
  o->send = send;
  o->recv = recv;
  o->w = info_.size;
  o->r = info_.rank;
  o->fits = ToInts(counts, o->w, &o->c) && ToInts(displs, o->w, &o->d);
  o->done = std::move(done);
  o->name = "allgatherv";
  Enqueue(std::move(o));
}

void MpiComm::Broadcast(void* buf, int64_t bytes, int root, CommDone done) {
  struct BcastOp : Op {
    MpiComm* self;
    void* buf;
    int64_t bytes;
    int root, w, r;
    Status Next(int stage, std::vector<MPI_Request>* reqs) override {
      if (stage > 0 || w == 1) return Status::Ok();
      if (bytes > INT_MAX) return Status::InvalidArgument("broadcast: more than 2^31-1 bytes");
      if (root < 0 || root >= w)
        return Status::InvalidArgument("broadcast: root " + std::to_string(root) + " is not a rank");
      reqs->emplace_back();
      const int e = MPI_Ibcast(buf, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &reqs->back());
      if (e != MPI_SUCCESS) return Status::Internal("broadcast failed: " + MpiError(e));
      if (r == root) self->Count(&CommStats::broadcast_bytes, bytes * (w - 1));
      return Status::Ok();
    }
  };
  auto o = std::make_unique<BcastOp>();
  o->self = this;
  o->buf = buf;
  o->bytes = bytes;
  o->root = root;
  o->w = info_.size;
  o->r = info_.rank;
  o->done = std::move(done);
  o->name = "broadcast";
  Enqueue(std::move(o));
}

void MpiComm::Barrier(CommDone done) {
  struct BarrierOp : Op {
    Status Next(int stage, std::vector<MPI_Request>* reqs) override {
      if (stage > 0) return Status::Ok();
      reqs->emplace_back();
      const int e = MPI_Ibarrier(MPI_COMM_WORLD, &reqs->back());
      if (e != MPI_SUCCESS) return Status::Internal("barrier failed: " + MpiError(e));
      return Status::Ok();
    }
  };
  auto o = std::make_unique<BarrierOp>();
  o->done = std::move(done);
  o->name = "barrier";
  Enqueue(std::move(o));
}

}  // namespace

bool Comm::Compiled() { return true; }

Status Comm::Start(std::unique_ptr<Comm>* out) {
  auto c = std::make_unique<MpiComm>();
  TSREC_RETURN_IF_ERROR(c->Init());
  *out = std::move(c);
  return Status::Ok();
}

}  // namespace tsrec
