// N-API binding of tsrec::Comm: `commStart()` returns an object whose collectives return
// Promises. The typed arrays of an operation are referenced until it completes; completions
// come back through one thread-safe function, referenced only while operations are pending, so
// an idle process can exit.
#include <napi.h>

#include <memory>
#include <vector>

#include "binding_util.h"
#include "tsrec/comm.h"

namespace tsrec_binding {

namespace {

using tsrec::Comm;
using tsrec::ReduceOp;
using tsrec::Status;

struct Pending {
  Napi::Promise::Deferred deferred;
  std::vector<Napi::ObjectReference> keep;  // the operation's typed arrays
  std::vector<int64_t> counts;              // byte counts and displacements, copied at enqueue
  Status status;
  explicit Pending(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

class NativeComm : public Napi::ObjectWrap<NativeComm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeComm",
                       {
                           InstanceMethod("info", &NativeComm::Info),
                           InstanceMethod("stats", &NativeComm::Stats),
                           InstanceMethod("setTimeoutSeconds", &NativeComm::SetTimeout),
                           InstanceMethod("allreduceOrdered", &NativeComm::AllreduceOrdered),
                           InstanceMethod("allreduceInt64", &NativeComm::AllreduceInt64),
                           InstanceMethod("alltoallv", &NativeComm::Alltoallv),
                           InstanceMethod("allgatherv", &NativeComm::Allgatherv),
                           InstanceMethod("broadcast", &NativeComm::Broadcast),
                           InstanceMethod("barrier", &NativeComm::Barrier),
                           InstanceMethod("close", &NativeComm::Close),
                           InstanceMethod("abort", &NativeComm::Abort),
                           InstanceMethod("abandon", &NativeComm::Abandon),
                       });
  }

  explicit NativeComm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeComm>(info) {
    Napi::Env env = info.Env();
    const Status st = Comm::Start(&comm_);
    if (!st.ok()) {
      Fail(env, st);
      return;
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "tsrec-comm",
                                          0, 1);
    tsfn_.Unref(env);
  }

  ~NativeComm() override {
    if (comm_) comm_->Close();
  }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const tsrec::CommInfo c = comm_->info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("rank", c.rank);
    o.Set("size", c.size);
    o.Set("localRank", c.local_rank);
    o.Set("localSize", c.local_size);
    o.Set("library", c.library);
    return o;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const tsrec::CommStats s = comm_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("ops", static_cast<double>(s.ops));
    o.Set("allreduceBytes", static_cast<double>(s.allreduce_bytes));
    o.Set("alltoallBytes", static_cast<double>(s.alltoall_bytes));
    o.Set("allgatherBytes", static_cast<double>(s.allgather_bytes));
    o.Set("broadcastBytes", static_cast<double>(s.broadcast_bytes));
    return o;
  }

  Napi::Value SetTimeout(const Napi::CallbackInfo& info) {
    comm_->SetTimeoutSeconds(info[0].As<Napi::Number>().DoubleValue());
    return info.Env().Undefined();
  }

  static ReduceOp OpOf(const Napi::Value& v) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    return s == "max" ? ReduceOp::kMax : s == "min" ? ReduceOp::kMin : ReduceOp::kSum;
  }

  /** A new pending operation keeping `arrays` alive; the done callback settles its Promise. */
  Pending* Begin(Napi::Env env, std::initializer_list<Napi::Value> arrays) {
    auto* p = new Pending(env);
    p->keep.push_back(Napi::Persistent(Value()));  // this communicator, until the operation settles
    for (const Napi::Value& a : arrays) p->keep.push_back(Napi::Persistent(a.As<Napi::Object>()));
    if (pending_++ == 0) tsfn_.Ref(env);
    return p;
  }

  tsrec::CommDone DoneOf(Pending* p) {
    return [this, p](Status st) {
      p->status = st;
      tsfn_.NonBlockingCall(p, [this](Napi::Env env, Napi::Function, Pending* q) {
        if (q->status.ok()) {
          q->deferred.Resolve(env.Undefined());
        } else {
          Napi::Error e = Napi::Error::New(env, q->status.message());
          e.Set("code", q->status.code() == tsrec::StatusCode::kUnavailable ? "ERR_TSREC_COMM" : "ERR_TSREC_NATIVE");
          q->deferred.Reject(e.Value());
        }
        delete q;
        if (--pending_ == 0) tsfn_.Unref(env);
      });
    };
  }

  /** Copies a Float64Array of `size` numbers (byte counts) into p->counts. */
  static void CopyCounts(const Napi::Value& v, Pending* p) {
    const double* d = DataOf<const double>(v);
    const int64_t n = LengthOf(v);
    for (int64_t i = 0; i < n; ++i) p->counts.push_back(static_cast<int64_t>(d[i]));
  }

  Napi::Value AllreduceOrdered(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pending* p = Begin(env, {info[0]});
    comm_->AllreduceOrdered(DataOf<float>(info[0]), LengthOf(info[0]), OpOf(info[1]), DoneOf(p));
    return p->deferred.Promise();
  }

  Napi::Value AllreduceInt64(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pending* p = Begin(env, {info[0]});
    comm_->AllreduceInt64(DataOf<int64_t>(info[0]), LengthOf(info[0]), OpOf(info[1]), DoneOf(p));
    return p->deferred.Promise();
  }

  // (send: Uint8Array, sendCounts, sendDispls, recv: Uint8Array, recvCounts, recvDispls: Float64Array of bytes)
  Napi::Value Alltoallv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pending* p = Begin(env, {info[0], info[3]});
    const int w = comm_->info().size;
    for (int k : {1, 2, 4, 5}) CopyCounts(info[k], p);
    const int64_t* c = p->counts.data();
    comm_->Alltoallv(BytesOf(info[0]), c, c + w, BytesOf(info[3]), c + 2 * w, c + 3 * w, DoneOf(p));
    return p->deferred.Promise();
  }

  // (send: Uint8Array, recv: Uint8Array, counts, displs: Float64Array of bytes)
  Napi::Value Allgatherv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pending* p = Begin(env, {info[0], info[1]});
    const int w = comm_->info().size;
    CopyCounts(info[2], p);
    CopyCounts(info[3], p);
    comm_->Allgatherv(BytesOf(info[0]), BytesOf(info[1]), p->counts.data(), p->counts.data() + w, DoneOf(p));
    return p->deferred.Promise();
  }

  // (buf: Uint8Array, root)
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pending* p = Begin(env, {info[0]});
    comm_->Broadcast(BytesOf(info[0]), LengthOf(info[0]), info[1].As<Napi::Number>().Int32Value(), DoneOf(p));
    return p->deferred.Promise();
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    Pending* p = Begin(info.Env(), {});
    comm_->Barrier(DoneOf(p));
    return p->deferred.Promise();
  }

  // Finishes the queued operations (their Promises settle), MPI_Finalize, releases the thread-safe function.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (comm_) comm_->Close();
    return info.Env().Undefined();
  }

  Napi::Value Abandon(const Napi::CallbackInfo& info) {
    if (comm_) comm_->Abandon();
    return info.Env().Undefined();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    comm_->Abort(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  std::unique_ptr<Comm> comm_;
  Napi::ThreadSafeFunction tsfn_;
  int64_t pending_ = 0;
};

Napi::Value CommCompiled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Comm::Compiled()); }

}  // namespace

Napi::Object InitComm(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeComm", NativeComm::Define(env));
  exports.Set("commCompiled", Napi::Function::New(env, CommCompiled));
  return exports;
}

}  // namespace tsrec_binding
