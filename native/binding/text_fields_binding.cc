// N-API glue for tsrec/text_fields.h. packages/native/src/text_fields.ts checks argument types;
// this layer checks every output array is long enough, and the C++ entries check every range
// lies inside its buffer before reading memory.
#include <napi.h>

#include <string>

#include "binding_util.h"
#include "tsrec/text_fields.h"

namespace tsrec_binding {

namespace {

bool TooShort(const Napi::CallbackInfo& info, const Napi::Value& v, int64_t need, const char* name) {
  if (LengthOf(v) >= need) return false;
  Napi::RangeError::New(info.Env(), std::string(name) + " has " + std::to_string(LengthOf(v)) + " elements but needs " +
                                        std::to_string(need))
      .ThrowAsJavaScriptException();
  return true;
}

// splitDelimitedFast(bytes, rowStarts, rowEnds, delim, quote, numCols, stride, fieldStarts, fieldEnds) -> handled
Napi::Value SplitDelimitedFast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tsrec::ByteRanges rows;
  if (!RangesOf(info, &rows)) return env.Undefined();
  const int delim = info[3].As<Napi::Number>().Int32Value();
  const int quote = info[4].As<Napi::Number>().Int32Value();
  const int64_t cols = info[5].As<Napi::Number>().Int64Value();
  const int64_t stride = info[6].As<Napi::Number>().Int64Value();
  if (cols < 1 || stride < rows.count) {
    Napi::RangeError::New(env, "splitDelimitedFast: need numCols >= 1 and stride >= rows").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (TooShort(info, info[7], cols * stride, "fieldStarts") || TooShort(info, info[8], cols * stride, "fieldEnds"))
    return env.Undefined();
  bool handled = false;
  if (Fail(env, tsrec::SplitDelimitedFast(rows, delim, quote, cols, stride, DataOf<int32_t>(info[7]),
                                          DataOf<int32_t>(info[8]), &handled))) {
    return env.Undefined();
  }
  return Napi::Boolean::New(env, handled);
}

// hashIdFields(bytes, starts, ends, separator, maxValues, numBuckets, defaultId, values, lengths) -> count
Napi::Value HashIdFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tsrec::ByteRanges fields;
  if (!RangesOf(info, &fields)) return env.Undefined();
  tsrec::HashIdSpec spec;
  spec.separator = info[3].As<Napi::Number>().Int32Value();
  spec.max_values = info[4].As<Napi::Number>().Int64Value();
  spec.num_buckets = static_cast<uint64_t>(info[5].As<Napi::Number>().Int64Value());
  spec.default_id = info[6].As<Napi::Number>().Int32Value();
  if (TooShort(info, info[8], fields.count, "lengths")) return env.Undefined();
  int64_t count = 0;
  if (Fail(env, tsrec::HashIdFields(fields, spec, DataOf<int32_t>(info[7]), LengthOf(info[7]), DataOf<int32_t>(info[8]),
                                    &count)))
    return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(count));
}

// parseDecimalFields(bytes, starts, ends, emptyValue, out: Float64Array, slowRows: Int32Array) -> numSlow
Napi::Value ParseDecimalFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tsrec::ByteRanges fields;
  if (!RangesOf(info, &fields)) return env.Undefined();
  const double empty = info[3].As<Napi::Number>().DoubleValue();
  if (TooShort(info, info[4], fields.count, "out") || TooShort(info, info[5], fields.count, "slowRows"))
    return env.Undefined();
  int64_t slow = 0;
  if (Fail(env, tsrec::ParseDecimalFields(fields, empty, DataOf<double>(info[4]), DataOf<int32_t>(info[5]), &slow)))
    return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(slow));
}

}  // namespace

/** Registers splitDelimitedFast, hashIdFields and parseDecimalFields on the addon's exports. */
Napi::Object InitTextFields(Napi::Env env, Napi::Object exports) {
  exports.Set("splitDelimitedFast", Napi::Function::New(env, SplitDelimitedFast));
  exports.Set("hashIdFields", Napi::Function::New(env, HashIdFields));
  exports.Set("parseDecimalFields", Napi::Function::New(env, ParseDecimalFields));
  return exports;
}

}  // namespace tsrec_binding
