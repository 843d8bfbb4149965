// N-API wrapper of tsrec::EmbeddingCollection. Converts arguments and Status only: the TS
// layer (packages/native/src/embedding_collection.ts) checks types, lengths and ranges first.
#include <napi.h>

#include <algorithm>
#include <memory>

#include "binding_util.h"
#include "tsrec/embedding_collection.h"
#include "tsrec/gather_probe.h"
#include "tsrec/tbe_cuda.h"

namespace tsrec_binding {

using namespace tsrec;

namespace {

float NumF(const Napi::Object& o, const char* k, float def) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().FloatValue() : def;
}

// Typed-array view: data pointer + length + whether it is 64-bit.
struct View {
  const void* data = nullptr;
  int64_t length = 0;
  IndexType type = IndexType::kInt32;
};
View IntView(const Napi::Value& v) {
  View r;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  r.length = static_cast<int64_t>(ta.ElementLength());
  r.type = ta.TypedArrayType() == napi_bigint64_array ? IndexType::kInt64 : IndexType::kInt32;
  r.data = BytesOf(v);
  return r;
}
float* FloatPtr(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return reinterpret_cast<float*>(BytesOf(v));
}
TbeBatch BatchOf(const Napi::CallbackInfo& info) {
  // (indices, offsets, weights | null, batchSize, ...)
  View idx = IntView(info[0]), off = IntView(info[1]);
  TbeBatch b;
  b.indices = idx.data;
  b.index_type = idx.type;
  b.num_indices = idx.length;
  b.offsets = off.data;
  b.offset_type = off.type;
  b.num_offsets = off.length;
  b.weights = FloatPtr(info[2]);
  b.batch_size = info[3].As<Napi::Number>().Int64Value();
  return b;
}

}  // namespace

class EmbeddingCollectionWrap : public Napi::ObjectWrap<EmbeddingCollectionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEmbeddingCollection",
                       {
                           InstanceMethod("forward", &EmbeddingCollectionWrap::Forward),
                           InstanceMethod("backwardAndUpdate", &EmbeddingCollectionWrap::BackwardAndUpdate),
                           InstanceMethod("forwardReference", &EmbeddingCollectionWrap::ForwardReference),
                           InstanceMethod("backwardReference", &EmbeddingCollectionWrap::BackwardReference),
                           InstanceMethod("gatherProbe", &EmbeddingCollectionWrap::GatherProbe),
                           InstanceMethod("readRows", &EmbeddingCollectionWrap::ReadRows),
                           InstanceMethod("writeRows", &EmbeddingCollectionWrap::WriteRows),
                           InstanceMethod("view", &EmbeddingCollectionWrap::View),
                           InstanceMethod("tableBytes", &EmbeddingCollectionWrap::TableBytes),
                           InstanceMethod("getStep", &EmbeddingCollectionWrap::GetStep),
                           InstanceMethod("setStep", &EmbeddingCollectionWrap::SetStep),
                           InstanceMethod("info", &EmbeddingCollectionWrap::Info),
                           InstanceMethod("dispose", &EmbeddingCollectionWrap::Dispose),
                       });
  }

  // new NativeEmbeddingCollection({tables, features, optimizer, seed, device, deviceId})
  explicit EmbeddingCollectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EmbeddingCollectionWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object spec = info[0].As<Napi::Object>();
    std::vector<TableConfig> tables;
    Napi::Array ts = spec.Get("tables").As<Napi::Array>();
    for (uint32_t i = 0; i < ts.Length(); ++i) {
      Napi::Object t = ts.Get(i).As<Napi::Object>();
      TableConfig c;
      c.name = t.Get("name").As<Napi::String>().Utf8Value();
      c.rows = t.Get("rows").As<Napi::Number>().Int64Value();
      c.dim = t.Get("dim").As<Napi::Number>().Int32Value();
      c.init_min = NumF(t, "initMin", 0.0f);
      c.init_max = NumF(t, "initMax", 0.0f);
      if (t.Get("host").IsNumber()) c.host = t.Get("host").As<Napi::Number>().Int32Value();
      if (t.Get("output").IsNumber()) c.output = t.Get("output").As<Napi::Number>().Int32Value();
      if (t.Get("initStream").IsNumber()) c.init_stream = t.Get("initStream").As<Napi::Number>().Int32Value();
      if (t.Get("initFirstRow").IsNumber()) c.init_first_row = t.Get("initFirstRow").As<Napi::Number>().Int64Value();
      if (t.Get("initRows").IsNumber()) c.init_rows = t.Get("initRows").As<Napi::Number>().Int64Value();
      tables.push_back(c);
    }
    std::vector<FeatureConfig> features;
    Napi::Array fs = spec.Get("features").As<Napi::Array>();
    for (uint32_t i = 0; i < fs.Length(); ++i) {
      Napi::Object f = fs.Get(i).As<Napi::Object>();
      FeatureConfig c;
      c.name = f.Get("name").As<Napi::String>().Utf8Value();
      c.table = f.Get("table").As<Napi::Number>().Int32Value();
      c.pooling = static_cast<Pooling>(f.Get("pooling").As<Napi::Number>().Int32Value());
      features.push_back(c);
    }
    Napi::Object o = spec.Get("optimizer").As<Napi::Object>();
    OptimizerConfig oc;
    oc.type = static_cast<OptimType>(o.Get("type").As<Napi::Number>().Int32Value());
    oc.eps = NumF(o, "eps", oc.eps);
    oc.beta1 = NumF(o, "beta1", oc.beta1);
    oc.beta2 = NumF(o, "beta2", oc.beta2);
    oc.weight_decay = NumF(o, "weightDecay", 0.0f);
    oc.weight_decay_mode = static_cast<WeightDecayMode>(static_cast<int>(NumF(o, "weightDecayMode", 0)));
    oc.max_gradient = NumF(o, "maxGradient", 0.0f);
    oc.max_norm = NumF(o, "maxNorm", 0.0f);
    oc.initial_accumulator_value = NumF(o, "initialAccumulatorValue", 0.0f);
    bool lossless = true;
    uint64_t seed = spec.Get("seed").As<Napi::BigInt>().Uint64Value(&lossless);
    const int device = spec.Get("device").As<Napi::Number>().Int32Value();
    if (device == static_cast<int>(Device::kCuda)) {
      std::unique_ptr<CudaEmbeddingCollection> c;
      if (Fail(env, CudaEmbeddingCollection::Create(tables, features, oc, seed,
                                                    spec.Get("deviceId").As<Napi::Number>().Int32Value(), &c)))
        return;
      coll_ = std::move(c);
    } else {
      std::unique_ptr<CpuEmbeddingCollection> c;
      if (Fail(env, CpuEmbeddingCollection::Create(tables, features, oc, seed, &c))) return;
      cpu_ = c.get();
      coll_ = std::move(c);
    }
  }

 private:
  bool Alive(Napi::Env env) {
    if (coll_) return true;
    Napi::Error::New(env, "this EmbeddingCollection was disposed").ThrowAsJavaScriptException();
    return false;
  }
  bool NeedCpu(Napi::Env env, const char* what) {
    if (!Alive(env)) return false;
    if (cpu_) return true;
    Napi::Error::New(env, std::string(what) + " is only available for device 'cpu'").ThrowAsJavaScriptException();
    return false;
  }

  // The pooled arrays of argument `v`: one Float32Array (or null) or an array of them, one per output.
  static int PooledPtrs(const Napi::Value& v, float** out) {
    if (!v.IsArray()) {
      out[0] = FloatPtr(v);
      return 1;
    }
    Napi::Array a = v.As<Napi::Array>();
    const int n = static_cast<int>(std::min<uint32_t>(a.Length(), kMaxPooledOutputs));
    for (int o = 0; o < n; ++o) out[o] = FloatPtr(a.Get(static_cast<uint32_t>(o)));
    return a.Length() > static_cast<uint32_t>(kMaxPooledOutputs) ? kMaxPooledOutputs + 1 : n;
  }

  // forward(indices, offsets, weights, B, pooledOut | pooledOut[], sequenceOut)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    float* pooled[kMaxPooledOutputs];
    const int n = PooledPtrs(info[4], pooled);
    Fail(info.Env(), coll_->Forward(BatchOf(info), pooled, n, FloatPtr(info[5])));
    return info.Env().Undefined();
  }
  // backwardAndUpdate(indices, offsets, weights, B, gradPooled | gradPooled[], gradSequence, lr)
  Napi::Value BackwardAndUpdate(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    float* grads[kMaxPooledOutputs];
    const int n = PooledPtrs(info[4], grads);
    Fail(info.Env(),
         coll_->BackwardAndUpdate(BatchOf(info), grads, n, FloatPtr(info[5]), info[6].As<Napi::Number>().FloatValue()));
    return info.Env().Undefined();
  }
  bool OutputsMatch(Napi::Env env, int n) {
    if (n == cpu_->layout().num_outputs()) return true;
    Napi::Error::New(env, "Expected " + std::to_string(cpu_->layout().num_outputs()) + " pooled arrays but received " +
                              std::to_string(n))
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Value ForwardReference(const Napi::CallbackInfo& info) {
    if (!NeedCpu(info.Env(), "forwardReference")) return info.Env().Undefined();
    TbeBatch b = BatchOf(info);
    if (Fail(info.Env(), ValidateBatch(cpu_->layout(), b))) return info.Env().Undefined();
    float* pooled[kMaxPooledOutputs];
    if (!OutputsMatch(info.Env(), PooledPtrs(info[4], pooled))) return info.Env().Undefined();
    TbeForwardReference(cpu_->layout(), cpu_->tables(), b, pooled, FloatPtr(info[5]));
    return info.Env().Undefined();
  }
  Napi::Value BackwardReference(const Napi::CallbackInfo& info) {
    if (!NeedCpu(info.Env(), "backwardReference")) return info.Env().Undefined();
    TbeBatch b = BatchOf(info);
    if (Fail(info.Env(), ValidateBatch(cpu_->layout(), b))) return info.Env().Undefined();
    float* grads[kMaxPooledOutputs];
    if (!OutputsMatch(info.Env(), PooledPtrs(info[4], grads))) return info.Env().Undefined();
    cpu_->set_step(cpu_->step() + 1);
    TbeBackwardReference(cpu_->layout(), cpu_->tables(), cpu_->optimizer(),
                         MakeOptimStep(cpu_->optimizer(), info[6].As<Napi::Number>().FloatValue(), cpu_->step()), b,
                         grads, FloatPtr(info[5]));
    return info.Env().Undefined();
  }
  // gatherProbe(indices, offsets, null, B, mode) -> seconds (mode 0: index_select copy, 1: read-only)
  Napi::Value GatherProbe(const Napi::CallbackInfo& info) {
    if (!NeedCpu(info.Env(), "gatherProbe")) return info.Env().Undefined();
    if (cpu_->layout().co_located) {
      Napi::Error::New(info.Env(), "gatherProbe needs a collection without co-located tables")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    TbeBatch b = BatchOf(info);
    if (Fail(info.Env(), ValidateBatch(cpu_->layout(), b))) return info.Env().Undefined();
    float sink = 0.0f;
    const auto mode = static_cast<GatherProbeMode>(info[4].As<Napi::Number>().Int32Value());
    double s = GatherProbeSeconds(cpu_->layout(), cpu_->tables(), b, mode, ThreadPool::global(), &sink);
    return Napi::Number::New(info.Env(), s + (sink == 1.2345e30f ? 1 : 0));
  }
  // readRows(table, which, start, count, out)
  Napi::Value ReadRows(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Fail(info.Env(), coll_->ReadRows(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                                     info[2].As<Napi::Number>().Int64Value(), info[3].As<Napi::Number>().Int64Value(),
                                     FloatPtr(info[4])));
    return info.Env().Undefined();
  }
  Napi::Value WriteRows(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Fail(info.Env(), coll_->WriteRows(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                                      info[2].As<Napi::Number>().Int64Value(), info[3].As<Napi::Number>().Int64Value(),
                                      FloatPtr(info[4])));
    return info.Env().Undefined();
  }
  // view(table, which) -> Float32Array over native memory (CPU); the memory lives while the view does.
  Napi::Value View(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!NeedCpu(env, "view")) return env.Undefined();
    const int t = info[0].As<Napi::Number>().Int32Value(), which = info[1].As<Napi::Number>().Int32Value();
    if (!cpu_->contiguous(t, which)) {
      Napi::Error::New(env, std::string(which == kWeights ? "the weights" : "the row-wise state") + " of table '" +
                                cpu_->layout().tables[t].name +
                                "' share rows with co-located tables: read them with readRows")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto* keep = new std::shared_ptr<HostBuffer>(cpu_->buffer(t, which));
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
        env, (*keep)->data(), (*keep)->bytes(), [](Napi::Env, void*, std::shared_ptr<HostBuffer>* k) { delete k; },
        keep);
    return Napi::Float32Array::New(env, static_cast<size_t>((*keep)->size()), ab, 0);
  }
  Napi::Value TableBytes(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(),
                             static_cast<double>(coll_->table_bytes(info[0].As<Napi::Number>().Int32Value())));
  }
  Napi::Value GetStep(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(coll_->step()));
  }
  Napi::Value SetStep(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    coll_->set_step(info[0].As<Napi::Number>().Int64Value());
    return info.Env().Undefined();
  }
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("pooledDim", Napi::Number::New(env, static_cast<double>(coll_->layout().pooled_dim)));
    Napi::Array dims = Napi::Array::New(env);
    for (int k = 0; k < coll_->layout().num_outputs(); ++k)
      dims.Set(k, Napi::Number::New(env, static_cast<double>(coll_->layout().pooled_dims[k])));
    o.Set("pooledDims", dims);
    o.Set("numStates", Napi::Number::New(env, coll_->num_states()));
    Napi::Array hp = Napi::Array::New(env);
    if (cpu_)
      for (int t = 0; t < cpu_->num_tables(); ++t)
        hp.Set(t, Napi::Boolean::New(env, cpu_->buffer(t, kWeights)->huge_pages()));
    o.Set("hugePages", hp);
    return o;
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    cpu_ = nullptr;
    coll_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<EmbeddingCollection> coll_;
  CpuEmbeddingCollection* cpu_ = nullptr;
};

Napi::Object InitEmbeddingCollection(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeEmbeddingCollection", EmbeddingCollectionWrap::Define(env));
  return exports;
}

}  // namespace tsrec_binding
