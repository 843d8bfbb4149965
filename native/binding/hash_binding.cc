// N-API glue for tsrec/hash.h. Converts arguments and Status only: packages/native/src/hash.ts
// checks types and lengths first; the C++ entry re-checks every range before reading memory.
#include <napi.h>

#include "tsrec/hash.h"

namespace tsrec_binding {

namespace {

template <typename T>
T* DataOf(const Napi::Value& v) {
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

int64_t LengthOf(const Napi::Value& v) { return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()); }

// (bytes: Uint8Array, starts: Int32Array, ends: Int32Array, ...) -> ranges over bytes.
tsrec::ByteRanges RangesOf(const Napi::CallbackInfo& info) {
  tsrec::ByteRanges r;
  r.bytes = DataOf<const uint8_t>(info[0]);
  r.num_bytes = LengthOf(info[0]);
  r.starts = DataOf<const int32_t>(info[1]);
  r.ends = DataOf<const int32_t>(info[2]);
  r.count = LengthOf(info[1]);
  return r;
}

bool Fail(Napi::Env env, const tsrec::Status& s) {
  if (s.ok()) return false;
  Napi::Error e = Napi::Error::New(env, s.message());
  e.Set("code", Napi::String::New(env, s.code() == tsrec::StatusCode::kOutOfRange ? "ERR_TSREC_OUT_OF_RANGE" : "ERR_TSREC_NATIVE"));
  e.ThrowAsJavaScriptException();
  return true;
}

// hashBuckets(bytes, starts, ends, numBuckets, out: Int32Array)
Napi::Value HashBuckets(const Napi::CallbackInfo& info) {
  const uint64_t buckets = static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value());
  Fail(info.Env(), tsrec::HashBuckets(RangesOf(info), buckets, DataOf<int32_t>(info[4])));
  return info.Env().Undefined();
}

// fingerprint64(bytes, starts, ends, out: BigUint64Array)
Napi::Value Fingerprint64(const Napi::CallbackInfo& info) {
  Fail(info.Env(), tsrec::Fingerprint64Batch(RangesOf(info), DataOf<uint64_t>(info[3])));
  return info.Env().Undefined();
}

}  // namespace

/** Registers hashBuckets and fingerprint64 on the addon's exports. */
Napi::Object InitHash(Napi::Env env, Napi::Object exports) {
  exports.Set("hashBuckets", Napi::Function::New(env, HashBuckets));
  exports.Set("fingerprint64", Napi::Function::New(env, Fingerprint64));
  return exports;
}

}  // namespace tsrec_binding
