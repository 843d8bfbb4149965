// N-API glue for the `tsrec` tfjs backend's native kernels (matmul_kernels.h,
// elementwise_kernels.h, reduction_kernels.h). Converts only: packages/native/src/tfjs/kernels/*
// check dtypes, shapes and lengths before calling, and allocate the outputs.
#include <napi.h>

#include <algorithm>
#include <vector>

#include "binding_util.h"
#include "tsrec/copy_kernels.h"
#include "tsrec/elementwise_kernels.h"
#include "tsrec/fused_kernels.h"
#include "tsrec/matmul_kernels.h"
#include "tsrec/reduction_kernels.h"

namespace tsrec_binding {

namespace {

float* F32(const Napi::Value& v) { return reinterpret_cast<float*>(BytesOf(v)); }

float* F32OrNull(const Napi::Value& v) { return v.IsNull() || v.IsUndefined() ? nullptr : F32(v); }

int64_t Len(const Napi::Value& v) { return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()); }

int64_t I64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

std::vector<int64_t> Shape(const Napi::Value& v) {
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> s(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) s[i] = arr.Get(i).As<Napi::Number>().Int64Value();
  return s;
}

// tfjsBatchMatMul(a, b, out, batchA, batchB, m, n, k, transA, transB, bias|null, activation, leakyAlpha, prelu|null)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  tsrec::MatMulEpilogue ep;
  ep.bias = F32OrNull(info[10]);
  ep.bias_len = ep.bias ? Len(info[10]) : 0;
  ep.activation = static_cast<tsrec::Activation>(info[11].As<Napi::Number>().Int32Value());
  ep.leaky_alpha = info[12].As<Napi::Number>().FloatValue();
  ep.prelu_alpha = F32OrNull(info[13]);
  ep.prelu_len = ep.prelu_alpha ? Len(info[13]) : 0;
  const bool has_epilogue = ep.bias || ep.activation != tsrec::Activation::kLinear;
  tsrec::BatchMatMul(F32(info[0]), F32(info[1]), F32(info[2]), I64(info[3]), I64(info[4]), I64(info[5]), I64(info[6]),
                     I64(info[7]), info[8].As<Napi::Boolean>().Value(), info[9].As<Napi::Boolean>().Value(),
                     has_epilogue ? &ep : nullptr);
  return info.Env().Undefined();
}

// tfjsUnary(op, x, y, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  tsrec::UnaryKernel(static_cast<tsrec::UnaryOp>(info[0].As<Napi::Number>().Int32Value()), F32(info[1]), F32(info[2]),
                     Len(info[1]), info[3].As<Napi::Number>().FloatValue());
  return info.Env().Undefined();
}

// tfjsBinary(op, a, aShape, b, bShape, out, outShape) -> false when the shapes do not broadcast
Napi::Value Binary(const Napi::CallbackInfo& info) {
  std::vector<int64_t> as = Shape(info[2]), bs = Shape(info[4]), os = Shape(info[6]);
  bool ok =
      as.size() == os.size() && bs.size() == os.size() &&
      tsrec::BinaryKernel(static_cast<tsrec::BinaryOp>(info[0].As<Napi::Number>().Int32Value()), F32(info[1]),
                          as.data(), F32(info[3]), bs.data(), F32(info[5]), os.data(), static_cast<int>(os.size()));
  return Napi::Boolean::New(info.Env(), ok);
}

// tfjsSum(x, out, outer, reduce, inner)
Napi::Value Sum(const Napi::CallbackInfo& info) {
  tsrec::SumReduce(F32(info[0]), F32(info[1]), I64(info[2]), I64(info[3]), I64(info[4]));
  return info.Env().Undefined();
}

// tfjsSlice(x, shape, begin, size, out)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  std::vector<int64_t> shape = Shape(info[1]), begin = Shape(info[2]), size = Shape(info[3]);
  tsrec::SliceCopy(F32(info[0]), shape.data(), begin.data(), size.data(), static_cast<int>(shape.size()), F32(info[4]));
  return info.Env().Undefined();
}

// tfjsConcat(xs: Float32Array[], inner: number[], outer, out)
Napi::Value Concat(const Napi::CallbackInfo& info) {
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<const float*> xs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) xs[i] = F32(arr.Get(i));
  std::vector<int64_t> inner = Shape(info[1]);
  tsrec::ConcatRows(xs.data(), inner.data(), static_cast<int>(xs.size()), I64(info[2]), F32(info[3]));
  return info.Env().Undefined();
}

// copyColumnRuns(src, srcOff, srcStride, dst, dstOff, dstStride, rows, runs: Int32Array [srcCol,
// dstCol, len, add]*, scale): every index is checked against both arrays (a RangeError otherwise).
Napi::Value CopyColumnRuns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t src_len = LengthOf(info[0]), dst_len = LengthOf(info[3]);
  const int64_t src_off = I64(info[1]), src_stride = I64(info[2]), dst_off = I64(info[4]), dst_stride = I64(info[5]);
  const int64_t rows = I64(info[6]);
  const int64_t n = LengthOf(info[7]);
  const auto* runs = reinterpret_cast<const tsrec::ColumnRun*>(BytesOf(info[7]));
  const double scale = info[8].As<Napi::Number>().DoubleValue();
  bool ok = n % 4 == 0 && rows >= 0 && src_off >= 0 && dst_off >= 0 && src_stride >= 0 && dst_stride >= 0;
  int64_t src_end = 0, dst_end = 0;
  for (int64_t k = 0; ok && k < n / 4; ++k) {
    const auto& r = runs[k];
    ok = r.src_col >= 0 && r.dst_col >= 0 && r.len >= 0;
    src_end = std::max<int64_t>(src_end, int64_t{r.src_col} + r.len);
    dst_end = std::max<int64_t>(dst_end, int64_t{r.dst_col} + r.len);
  }
  if (ok && rows > 0)
    ok = src_off + (rows - 1) * src_stride + src_end <= src_len &&
         dst_off + (rows - 1) * dst_stride + dst_end <= dst_len;
  if (!ok) {
    Napi::RangeError::New(env, "copyColumnRuns: a run reaches outside its array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (rows > 0)
    tsrec::CopyColumnRuns(F32(info[0]), src_off, src_stride, F32(info[3]), dst_off, dst_stride, rows, runs, n / 4,
                          scale);
  return env.Undefined();
}

// tfjsFmForward(x, B, N, D, out)
Napi::Value FmForward(const Napi::CallbackInfo& info) {
  tsrec::FmInteractionForward(F32(info[0]), I64(info[1]), I64(info[2]), I64(info[3]), F32(info[4]));
  return info.Env().Undefined();
}

// tfjsFmBackward(x, dy, B, N, D, dx)
Napi::Value FmBackward(const Napi::CallbackInfo& info) {
  tsrec::FmInteractionBackward(F32(info[0]), F32(info[1]), I64(info[2]), I64(info[3]), I64(info[4]), F32(info[5]));
  return info.Env().Undefined();
}

// tfjsSigmoidBce(logits, labels, weights|null, labelSmoothing, dLogits) -> loss, or -(index + 1)
// of the first non-finite logit as a negative integer (the loss itself is never negative).
Napi::Value SigmoidBce(const Napi::CallbackInfo& info) {
  int64_t bad = -1;
  const double loss = tsrec::SigmoidBceWithLogits(F32(info[0]), F32(info[1]), F32OrNull(info[2]), Len(info[0]),
                                                  info[3].As<Napi::Number>().DoubleValue(), F32(info[4]), &bad);
  return Napi::Number::New(info.Env(), bad >= 0 ? -static_cast<double>(bad + 1) : loss);
}

// tfjsAdam(value, m, v, g, valueOut, mOut, vOut, [beta1, 1-beta1, beta2, 1-beta2, 1-accBeta1, 1-accBeta2, -lr, eps])
Napi::Value Adam(const Napi::CallbackInfo& info) {
  Napi::Array k = info[7].As<Napi::Array>();
  auto f = [&](uint32_t i) { return k.Get(i).As<Napi::Number>().FloatValue(); };
  const tsrec::AdamConstants c{f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7)};
  tsrec::AdamUpdate(F32(info[0]), F32(info[1]), F32(info[2]), F32(info[3]), Len(info[0]), c, F32(info[4]), F32(info[5]),
                    F32(info[6]));
  return info.Env().Undefined();
}

// tfjsReluGrad(dy, y, dx)
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  tsrec::ReluGrad(F32(info[0]), F32(info[1]), Len(info[0]), F32(info[2]));
  return info.Env().Undefined();
}

// tfjsColumnSum(x, rows, cols, out)
Napi::Value ColumnSum(const Napi::CallbackInfo& info) {
  tsrec::ColumnSum(F32(info[0]), I64(info[1]), I64(info[2]), F32(info[3]));
  return info.Env().Undefined();
}

// tfjsDenseBackward(x, w, y|null, dy, M, K, N, relu, dx|null, dw, db|null)
Napi::Value DenseBackward(const Napi::CallbackInfo& info) {
  tsrec::DenseBackward(F32(info[0]), F32(info[1]), F32OrNull(info[2]), F32(info[3]), I64(info[4]), I64(info[5]),
                       I64(info[6]), info[7].As<Napi::Boolean>().Value(), F32OrNull(info[8]), F32(info[9]),
                       F32OrNull(info[10]));
  return info.Env().Undefined();
}

// Blocks of a dense layer's input: xs (an array of Float32Array [M, ks[i]]) and ks.
std::vector<tsrec::DenseBlock> Blocks(const Napi::Value& xs_v, const Napi::Value& ks_v) {
  Napi::Array xs = xs_v.As<Napi::Array>(), ks = ks_v.As<Napi::Array>();
  std::vector<tsrec::DenseBlock> blocks(xs.Length());
  for (uint32_t i = 0; i < xs.Length(); ++i) blocks[i] = {F32(xs.Get(i)), ks.Get(i).As<Napi::Number>().Int64Value()};
  return blocks;
}

// tfjsDenseBlocksForward(xs[], ks[], w, bias|null, relu, M, N, y)
Napi::Value DenseBlocksForward(const Napi::CallbackInfo& info) {
  const auto blocks = Blocks(info[0], info[1]);
  tsrec::DenseBlocksForward(blocks.data(), static_cast<int>(blocks.size()), F32(info[2]), F32OrNull(info[3]),
                            info[4].As<Napi::Boolean>().Value(), I64(info[5]), I64(info[6]), F32(info[7]));
  return info.Env().Undefined();
}

// tfjsDenseBlocksBackward(xs[], ks[], w, y|null, dy, M, N, relu, dxs[] (entries may be null), dw, db|null)
Napi::Value DenseBlocksBackward(const Napi::CallbackInfo& info) {
  const auto blocks = Blocks(info[0], info[1]);
  Napi::Array dx_arr = info[8].As<Napi::Array>();
  std::vector<float*> dxs(dx_arr.Length());
  for (uint32_t i = 0; i < dx_arr.Length(); ++i) dxs[i] = F32OrNull(dx_arr.Get(i));
  tsrec::DenseBlocksBackward(blocks.data(), static_cast<int>(blocks.size()), F32(info[2]), F32OrNull(info[3]),
                             F32(info[4]), I64(info[5]), I64(info[6]), info[7].As<Napi::Boolean>().Value(), dxs.data(),
                             F32(info[9]), F32OrNull(info[10]));
  return info.Env().Undefined();
}

// setBlasThreads(n) -> threads in use
Napi::Value SetBlasThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), tsrec::SetBlasThreads(info[0].As<Napi::Number>().Int32Value()));
}

}  // namespace

/** Registers the tfjs kernel entry points on the addon's exports. */
Napi::Object InitTfjsKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("tfjsBatchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("tfjsUnary", Napi::Function::New(env, Unary));
  exports.Set("tfjsBinary", Napi::Function::New(env, Binary));
  exports.Set("tfjsSum", Napi::Function::New(env, Sum));
  exports.Set("tfjsSlice", Napi::Function::New(env, Slice));
  exports.Set("tfjsConcat", Napi::Function::New(env, Concat));
  exports.Set("tfjsFmForward", Napi::Function::New(env, FmForward));
  exports.Set("copyColumnRuns", Napi::Function::New(env, CopyColumnRuns));
  exports.Set("tfjsFmBackward", Napi::Function::New(env, FmBackward));
  exports.Set("tfjsSigmoidBce", Napi::Function::New(env, SigmoidBce));
  exports.Set("tfjsAdam", Napi::Function::New(env, Adam));
  exports.Set("tfjsReluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("tfjsColumnSum", Napi::Function::New(env, ColumnSum));
  exports.Set("tfjsDenseBackward", Napi::Function::New(env, DenseBackward));
  exports.Set("tfjsDenseBlocksForward", Napi::Function::New(env, DenseBlocksForward));
  exports.Set("tfjsDenseBlocksBackward", Napi::Function::New(env, DenseBlocksBackward));
  exports.Set("setBlasThreads", Napi::Function::New(env, SetBlasThreads));
  return exports;
}

}  // namespace tsrec_binding
