// Helpers shared by the N-API bindings: typed-array views, byte ranges, and Status -> JS error.
#pragma once
#include <napi.h>

#include <cstdint>

#include "tsrec/hash.h"
#include "tsrec/status.h"

namespace tsrec_binding {

/**
 * The first byte of a typed array's view (byte offset applied), for an ArrayBuffer or a
 * SharedArrayBuffer behind it. (Napi::TypedArray::ArrayBuffer().Data() fails on a
 * SharedArrayBuffer: napi_get_arraybuffer_info accepts ArrayBuffers only.)
 */
inline uint8_t* BytesOf(const Napi::Value& v) {
  void* data = nullptr;
  const napi_status s = napi_get_typedarray_info(v.Env(), v, nullptr, nullptr, &data, nullptr, nullptr);
  return s == napi_ok ? static_cast<uint8_t*>(data) : nullptr;
}

/** The data of a typed array (its view: byte offset applied) as T*. */
template <typename T>
T* DataOf(const Napi::Value& v) {
  return reinterpret_cast<T*>(BytesOf(v));
}

/** Element count of a typed array. */
inline int64_t LengthOf(const Napi::Value& v) { return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()); }

/**
 * (bytes: Uint8Array, starts: Int32Array, ends: Int32Array, ...) as ranges over bytes, as many
 * as starts has; false (a RangeError thrown) when ends has another length.
 */
inline bool RangesOf(const Napi::CallbackInfo& info, tsrec::ByteRanges* r) {
  r->bytes = DataOf<const uint8_t>(info[0]);
  r->num_bytes = LengthOf(info[0]);
  r->starts = DataOf<const int32_t>(info[1]);
  r->ends = DataOf<const int32_t>(info[2]);
  r->count = LengthOf(info[1]);
  if (LengthOf(info[2]) != r->count) {
    Napi::RangeError::New(info.Env(), "starts and ends must have the same length").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

/** Throws a non-ok Status as a JS Error with `code` ERR_TSREC_OUT_OF_RANGE or ERR_TSREC_NATIVE; true when it did. */
inline bool Fail(Napi::Env env, const tsrec::Status& s) {
  if (s.ok()) return false;
  Napi::Error e = Napi::Error::New(env, s.message());
  e.Set("code", Napi::String::New(
                    env, s.code() == tsrec::StatusCode::kOutOfRange ? "ERR_TSREC_OUT_OF_RANGE" : "ERR_TSREC_NATIVE"));
  e.ThrowAsJavaScriptException();
  return true;
}

}  // namespace tsrec_binding
