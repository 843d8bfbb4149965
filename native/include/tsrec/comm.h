// Collectives across processes (MPI ranks), run on one thread that owns MPI (Horovod's design):
// callers enqueue operations in program order and get a callback when each completes, so the
// Node event loop never blocks and the calling thread never makes an MPI call. The thread
// waits with non-blocking MPI calls, MPI_Test and a sleep back-off instead of MPI's busy poll
// (../shared/SCALEOUT.md §3: a blocking 2 s barrier burns ~1.8 s of CPU, the back-off ~0.1 s).
//
// Determinism: `AllreduceOrdered` sums in rank order whatever MPI's algorithm (all-to-all of
// chunks, rank-order sum of each chunk on its owner, all-gather), so every rank gets the same
// bits, run after run, and an in-process simulation of W ranks reproduces them.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tsrec/status.h"

namespace tsrec {

/** Where this process stands in the job. */
struct CommInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // among the ranks of this host
  int local_size = 1;
  std::string library;  // "Open MPI v4.1.4, …" (MPI_Get_library_version, first line)
};

enum class ReduceOp { kSum, kMax, kMin };

/** Bytes this rank sent to other ranks (self excluded) per kind of collective, since start. */
struct CommStats {
  int64_t ops = 0;
  int64_t allreduce_bytes = 0;
  int64_t alltoall_bytes = 0;
  int64_t allgather_bytes = 0;
  int64_t broadcast_bytes = 0;
};

/** A collective's completion: ok, or why it failed (a timeout, an MPI error). */
using CommDone = std::function<void(Status)>;

/**
 * One thread that owns MPI and runs collectives in FIFO order. Buffers stay owned by the caller
 * and must stay valid until `done` runs (on the comm thread). Counts and displacements are in
 * bytes for the byte-moving collectives; every rank must enqueue the same collectives in the
 * same order with matching sizes, as in MPI.
 */
class Comm {
 public:
  virtual ~Comm() = default;

  /** MPI_Init_thread on a new comm thread; Unavailable when tsrec was built without MPI. */
  static Status Start(std::unique_ptr<Comm>* out);
  /** Whether this build links MPI. */
  static bool Compiled();

  virtual CommInfo info() const = 0;
  virtual CommStats stats() const = 0;
  /** A collective that has not completed after this many seconds fails with a timeout (0: never). */
  virtual void SetTimeoutSeconds(double seconds) = 0;

  /** buf[0, n) = the element-wise reduction over ranks, summed in rank order for kSum. */
  virtual void AllreduceOrdered(float* buf, int64_t n, ReduceOp op, CommDone done) = 0;
  /** buf[0, n) = the element-wise reduction over ranks (integers: exact in any order). */
  virtual void AllreduceInt64(int64_t* buf, int64_t n, ReduceOp op, CommDone done) = 0;
  /**
   * send[send_displs[r], + send_counts[r]) goes to rank r; recv[recv_displs[r], + recv_counts[r])
   * comes from rank r. Arrays of `size` byte counts.
   */
  virtual void Alltoallv(const void* send, const int64_t* send_counts, const int64_t* send_displs, void* recv,
                         const int64_t* recv_counts, const int64_t* recv_displs, CommDone done) = 0;
  /** recv[displs[r], + counts[r]) = rank r's `send` (counts[rank] bytes). */
  virtual void Allgatherv(const void* send, void* recv, const int64_t* counts, const int64_t* displs,
                          CommDone done) = 0;
  virtual void Broadcast(void* buf, int64_t bytes, int root, CommDone done) = 0;
  virtual void Barrier(CommDone done) = 0;
  /** Finishes queued work, MPI_Finalize, joins the thread. Idempotent. */
  virtual void Close() = 0;
  /** MPI_Abort(code) from the comm thread: ends every rank of the job. */
  virtual void Abort(int code) = 0;
  /**
   * For a process exiting after a failure: pending and later collectives fail, the comm thread
   * ends without MPI_Finalize or MPI_Abort (either may wait for ranks that are gone or stuck), and
   * `Close` returns at once. The launcher sees a rank exit without finalizing and ends the job.
   */
  virtual void Abandon() = 0;
};

/** Chunk c of n elements split over w ranks: [ChunkBegin(n, w, c), ChunkBegin(n, w, c + 1)). */
inline int64_t ChunkBegin(int64_t n, int w, int c) { return n * c / w; }

/** The rank-order reduction of `parts[0..w)` (each n floats) into `out`: the ordered allreduce's arithmetic. */
void ReduceInRankOrder(const float* const* parts, int w, int64_t n, ReduceOp op, float* out);

}  // namespace tsrec
