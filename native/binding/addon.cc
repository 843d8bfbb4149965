// N-API module entry: registers every binding. Bindings only convert; the TS layer validates.
#include <napi.h>

#include <cstring>
#include <memory>

#include "tsrec/comm.h"
#include "tsrec/gemm.h"
#include "tsrec/host_buffer.h"
#include "tsrec/tbe_cuda.h"
#include "tsrec/thread_pool.h"

namespace tsrec_binding {
Napi::Object InitComm(Napi::Env env, Napi::Object exports);
Napi::Object InitEmbeddingCollection(Napi::Env env, Napi::Object exports);
Napi::Object InitHash(Napi::Env env, Napi::Object exports);
Napi::Object InitTextFields(Napi::Env env, Napi::Object exports);
Napi::Object InitTfjsKernels(Napi::Env env, Napi::Object exports);
}  // namespace tsrec_binding

namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", tsrec::BlasDescription());
  o.Set("cudaCompiled", tsrec::CudaCompiled());
  o.Set("cudaDevices", tsrec::CudaDeviceCount());
  o.Set("cudaDescription", tsrec::CudaDeviceDescription(0));
  o.Set("threads", tsrec::ThreadPool::global().num_threads());
  // How this binary was built (native/CMakeLists.txt passes the CMake settings in).
#if defined(__clang__)
  o.Set("compiler", "clang " __clang_version__);
#else
  o.Set("compiler", "g++ " __VERSION__);
#endif
  o.Set("buildType", TSREC_BUILD_TYPE_NAME);
  o.Set("archFlags", TSREC_BUILD_ARCH_FLAGS);
  o.Set("cudaArchs", TSREC_BUILD_CUDA_ARCHS);
  o.Set("mpiCompiled", tsrec::Comm::Compiled());
  return o;
}

// allocFloat32(n): a zeroed Float32Array in native memory, 64-byte aligned (huge pages when
// >= 2 MiB), freed when the array is collected. Outputs written with streaming stores need it.
Napi::Value AllocFloat32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = info[0].As<Napi::Number>().Int64Value();
  auto buf = tsrec::HostBuffer::Allocate(n);
  if (!buf) {
    Napi::Error::New(env, "could not allocate " + std::to_string(n * 4) + " bytes of native memory")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (n > 0) std::memset(buf->data(), 0, buf->bytes());
  // Reported to V8 as external memory, so the GC knows what collecting the array frees.
  const int64_t bytes = static_cast<int64_t>(buf->bytes());
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  auto* keep = new std::shared_ptr<tsrec::HostBuffer>(std::move(buf));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, (*keep)->data(), (*keep)->bytes(),
      [](Napi::Env e, void*, std::shared_ptr<tsrec::HostBuffer>* k) {
        Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>((*k)->bytes()));
        delete k;
      },
      keep);
  return Napi::Float32Array::New(env, static_cast<size_t>(n), ab, 0);
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  tsrec::ThreadPool::set_global_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("allocFloat32", Napi::Function::New(env, AllocFloat32));
  tsrec_binding::InitHash(env, exports);
  tsrec_binding::InitTextFields(env, exports);
  tsrec_binding::InitTfjsKernels(env, exports);
  tsrec_binding::InitComm(env, exports);
  return tsrec_binding::InitEmbeddingCollection(env, exports);
}

}  // namespace

NODE_API_MODULE(tsrec_native, Init)
