// N-API glue for tsrec/hash.h. Converts arguments and Status only: packages/native/src/hash.ts
// checks types and lengths first; the C++ entry re-checks every range before reading memory.
#include <napi.h>

#include "binding_util.h"
#include "tsrec/hash.h"

namespace tsrec_binding {

namespace {

// hashBuckets(bytes, starts, ends, numBuckets, out: Int32Array)
Napi::Value HashBuckets(const Napi::CallbackInfo& info) {
  tsrec::ByteRanges r;
  if (!RangesOf(info, &r)) return info.Env().Undefined();
  const uint64_t buckets = static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value());
  Fail(info.Env(), tsrec::HashBuckets(r, buckets, DataOf<int32_t>(info[4])));
  return info.Env().Undefined();
}

// fingerprint64(bytes, starts, ends, out: BigUint64Array)
Napi::Value Fingerprint64(const Napi::CallbackInfo& info) {
  tsrec::ByteRanges r;
  if (!RangesOf(info, &r)) return info.Env().Undefined();
  Fail(info.Env(), tsrec::Fingerprint64Batch(r, DataOf<uint64_t>(info[3])));
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
