// N-API module entry: registers every binding. Bindings only convert; the TS layer validates.
#include <napi.h>

#include "tsrec/gemm.h"
#include "tsrec/tbe_cuda.h"
#include "tsrec/thread_pool.h"

namespace tsrec_binding {
Napi::Object InitEmbeddingCollection(Napi::Env env, Napi::Object exports);
Napi::Object InitHash(Napi::Env env, Napi::Object exports);
Napi::Object InitTfjsKernels(Napi::Env env, Napi::Object exports);
}

namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", tsrec::BlasDescription());
  o.Set("cudaCompiled", tsrec::CudaCompiled());
  o.Set("cudaDevices", tsrec::CudaDeviceCount());
  o.Set("cudaDescription", tsrec::CudaDeviceDescription(0));
  o.Set("threads", tsrec::ThreadPool::global().num_threads());
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  tsrec::ThreadPool::set_global_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  tsrec_binding::InitHash(env, exports);
  tsrec_binding::InitTfjsKernels(env, exports);
  return tsrec_binding::InitEmbeddingCollection(env, exports);
}

}  // namespace

NODE_API_MODULE(tsrec_native, Init)
