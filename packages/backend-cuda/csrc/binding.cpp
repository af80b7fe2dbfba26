// The Node-API binding: a thin translation from JavaScript arguments to the C ABI in
// galore_cuda.h. It owns one table of device blocks keyed by small integer handles, so a stale or
// foreign handle from JavaScript is an error message rather than a wild pointer.
//
// Buffers travel as three numbers: handle, dtype code (gc_dtype), element count.
#include <napi.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "galore_cuda.h"

namespace {

struct Block {
  void *ptr;
  size_t bytes;
};
std::unordered_map<uint32_t, Block> g_blocks;
uint32_t g_next_handle = 1;

size_t elem_bytes(int dtype) {
  switch (dtype) {
    case GC_F32: case GC_I32: return 4;
    case GC_BF16: case GC_F16: return 2;
    case GC_U8: return 1;
    default: return 0;
  }
}

[[noreturn]] void throw_error(Napi::Env env, const std::string &message) { throw Napi::Error::New(env, message); }

void check(Napi::Env env, int status) {
  if (status != GC_OK) throw_error(env, gc_last_error());
}

// Reads positional arguments in order, with errors naming the function and the argument.
class Args {
 public:
  Args(const Napi::CallbackInfo &info, const char *fn) : info_(info), fn_(fn) {}

  double number(const char *name) {
    Napi::Value v = next(name);
    if (!v.IsNumber()) fail(name, "a number", v);
    return v.As<Napi::Number>().DoubleValue();
  }

  int64_t integer(const char *name) {
    double d = number(name);
    if (d != static_cast<double>(static_cast<int64_t>(d)))
      throw_error(info_.Env(), std::string(fn_) + ": " + name + " must be an integer, got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }

  bool boolean(const char *name) {
    Napi::Value v = next(name);
    if (!v.IsBoolean()) fail(name, "a boolean", v);
    return v.As<Napi::Boolean>().Value();
  }

  std::vector<int64_t> integers(const char *name) {
    Napi::Value v = next(name);
    if (!v.IsArray()) fail(name, "an array of integers", v);
    Napi::Array a = v.As<Napi::Array>();
    std::vector<int64_t> out(a.Length());
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value e = a.Get(i);
      if (!e.IsNumber()) fail(name, "an array of integers", v);
      out[i] = static_cast<int64_t>(e.As<Napi::Number>().DoubleValue());
    }
    return out;
  }

  gc_buf buffer(const char *name) {
    uint32_t handle = static_cast<uint32_t>(integer(name));
    int dtype = static_cast<int>(integer(name));
    int64_t size = integer(name);
    if (elem_bytes(dtype) == 0) throw_error(info_.Env(), std::string(fn_) + ": " + name + " has unknown dtype code " + std::to_string(dtype));
    if (handle == 0) {  // an empty storage owns no memory
      if (size != 0) throw_error(info_.Env(), std::string(fn_) + ": " + name + " has no device memory but claims " + std::to_string(size) + " elements");
      return gc_buf{nullptr, static_cast<gc_dtype>(dtype), 0};
    }
    auto it = g_blocks.find(handle);
    if (it == g_blocks.end())
      throw_error(info_.Env(), std::string(fn_) + ": " + name + " refers to storage handle " + std::to_string(handle) +
                                   ", which is not allocated (freed already?)");
    if (size < 0 || static_cast<size_t>(size) * elem_bytes(dtype) > it->second.bytes)
      throw_error(info_.Env(), std::string(fn_) + ": " + name + " claims " + std::to_string(size) + " elements, more than its " +
                                   std::to_string(it->second.bytes) + " bytes hold");
    return gc_buf{it->second.ptr, static_cast<gc_dtype>(dtype), size};
  }

 private:
  Napi::Value next(const char *name) {
    if (index_ >= info_.Length())
      throw_error(info_.Env(), std::string(fn_) + ": missing argument " + name + " (argument " + std::to_string(index_ + 1) + ")");
    return info_[index_++];
  }

  [[noreturn]] void fail(const char *name, const char *expected, Napi::Value got) {
    std::string type = got.IsUndefined() ? "undefined" : got.IsNull() ? "null" : got.IsString() ? "a string" : got.IsObject() ? "an object" : "another type";
    throw_error(info_.Env(), std::string(fn_) + ": " + name + " must be " + expected + ", got " + type);
  }

  const Napi::CallbackInfo &info_;
  const char *fn_;
  size_t index_ = 0;
};

void fill_dims(Napi::Env env, const char *fn, const std::vector<int64_t> &src, int64_t *dst, size_t ndim) {
  if (src.size() != ndim)
    throw_error(env, std::string(fn) + ": expected " + std::to_string(ndim) + " strides, got " + std::to_string(src.size()));
  for (size_t d = 0; d < ndim; d++) dst[d] = src[d];
}

gc_layout read_layout(Args &args, Napi::Env env, const char *fn, bool with_cond) {
  gc_layout l{};
  std::vector<int64_t> shape = args.integers("shape");
  if (shape.size() > GC_MAX_DIMS)
    throw_error(env, std::string(fn) + ": " + std::to_string(shape.size()) + " dimensions, at most " + std::to_string(GC_MAX_DIMS) + " supported");
  l.ndim = static_cast<int>(shape.size());
  fill_dims(env, fn, shape, l.shape, shape.size());
  fill_dims(env, fn, args.integers("aStrides"), l.a_strides, shape.size());
  fill_dims(env, fn, args.integers("bStrides"), l.b_strides, shape.size());
  if (with_cond) fill_dims(env, fn, args.integers("condStrides"), l.cond_strides, shape.size());
  return l;
}

// ---- runtime ----

Napi::Value DeviceCount(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int count = 0;
  int status = gc_device_count(&count);
  Napi::Object result = Napi::Object::New(env);
  result.Set("count", count);
  result.Set("error", status == GC_OK ? env.Null() : Napi::String::New(env, gc_last_error()));
  result.Set("runtimeVersion", gc_runtime_version());
  return result;
}

Napi::Value Init(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args args(info, "init");
  check(env, gc_init(static_cast<int>(args.integer("device"))));
  gc_device_info d{};
  gc_library_info libs{};
  check(env, gc_device_info_get(&d));
  check(env, gc_library_info_get(&libs));
  Napi::Object result = Napi::Object::New(env);
  result.Set("name", d.name);
  result.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
  result.Set("totalMemory", static_cast<double>(d.total_memory));
  result.Set("multiprocessors", d.multiprocessors);
  result.Set("runtimeVersion", d.runtime_version);
  result.Set("driverVersion", d.driver_version);
  result.Set("cublas", libs.cublas_loaded ? Napi::Value(Napi::String::New(env, libs.cublas_path)) : env.Null());
  result.Set("cusolver", libs.cusolver_loaded ? Napi::Value(Napi::String::New(env, libs.cusolver_path)) : env.Null());
  return result;
}

Napi::Value Shutdown(const Napi::CallbackInfo &info) {
  g_blocks.clear();
  check(info.Env(), gc_shutdown());
  return info.Env().Undefined();
}

Napi::Value UseLibraries(const Napi::CallbackInfo &info) {
  Args args(info, "useLibraries");
  check(info.Env(), gc_use_libraries(args.boolean("enable") ? 1 : 0));
  return info.Env().Undefined();
}

Napi::Value Alloc(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args args(info, "alloc");
  int64_t bytes = args.integer("bytes");
  if (bytes < 0) throw_error(env, "alloc: bytes must be >= 0, got " + std::to_string(bytes));
  void *ptr = nullptr;
  check(env, gc_alloc(static_cast<size_t>(bytes), &ptr));
  uint32_t handle = g_next_handle++;
  g_blocks[handle] = Block{ptr, static_cast<size_t>(bytes)};
  return Napi::Number::New(env, handle);
}

Napi::Value Free(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args args(info, "free");
  uint32_t handle = static_cast<uint32_t>(args.integer("handle"));
  auto it = g_blocks.find(handle);
  if (it == g_blocks.end()) throw_error(env, "free: storage handle " + std::to_string(handle) + " is not allocated (double free?)");
  void *ptr = it->second.ptr;
  g_blocks.erase(it);
  check(env, gc_free(ptr));
  return env.Undefined();
}

Napi::Value MemoryStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  gc_memory_stats s{};
  check(env, gc_memory_stats_get(&s));
  Napi::Object result = Napi::Object::New(env);
  result.Set("allocated", static_cast<double>(s.allocated));
  result.Set("cached", static_cast<double>(s.cached));
  result.Set("reserved", static_cast<double>(s.reserved));
  result.Set("peakReserved", static_cast<double>(s.peak_reserved));
  result.Set("cudaMallocs", static_cast<double>(s.cuda_mallocs));
  return result;
}

Napi::Value EmptyCache(const Napi::CallbackInfo &info) {
  check(info.Env(), gc_empty_cache());
  return info.Env().Undefined();
}

Napi::Value Upload(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args args(info, "upload");
  gc_buf dst = args.buffer("dst");
  if (info.Length() < 4 || !info[3].IsTypedArray()) throw_error(env, "upload: data must be a typed array");
  Napi::TypedArray data = info[3].As<Napi::TypedArray>();
  size_t bytes = data.ByteLength();
  if (bytes != static_cast<size_t>(dst.size) * elem_bytes(dst.dtype))
    throw_error(env, "upload: data holds " + std::to_string(bytes) + " bytes, the storage " +
                         std::to_string(static_cast<size_t>(dst.size) * elem_bytes(dst.dtype)));
  const uint8_t *src = static_cast<const uint8_t *>(data.ArrayBuffer().Data()) + data.ByteOffset();
  check(env, gc_upload(dst.data, src, bytes));
  return env.Undefined();
}

// Waits for a download on a worker thread so the JavaScript thread never blocks on the GPU.
class DownloadWorker : public Napi::AsyncWorker {
 public:
  DownloadWorker(Napi::Env env, gc_download_ticket *ticket, size_t bytes)
      : Napi::AsyncWorker(env, "galore_cuda_download"), ticket_(ticket), bytes_(bytes), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (gc_download_wait(ticket_) != GC_OK) SetError(gc_last_error());
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::ArrayBuffer out = Napi::ArrayBuffer::New(env, bytes_);
    int status = gc_download_finish(ticket_, out.Data());
    if (status != GC_OK) deferred_.Reject(Napi::Error::New(env, gc_last_error()).Value());
    else deferred_.Resolve(out);
  }

  void OnError(const Napi::Error &error) override {
    gc_download_finish(ticket_, nullptr);  // only releases: the wait's error is the one to report
    deferred_.Reject(error.Value());
  }

 private:
  gc_download_ticket *ticket_;
  size_t bytes_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Download(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args args(info, "download");
  gc_buf src = args.buffer("src");
  size_t bytes = static_cast<size_t>(src.size) * elem_bytes(src.dtype);
  gc_download_ticket *ticket = nullptr;
  check(env, gc_download_begin(src.data, bytes, &ticket));
  auto *worker = new DownloadWorker(env, ticket, bytes);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// A zero-byte download: resolves once every kernel enqueued so far has finished.
Napi::Value Synchronize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  gc_download_ticket *ticket = nullptr;
  check(env, gc_download_begin(nullptr, 0, &ticket));
  auto *worker = new DownloadWorker(env, ticket, 0);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// ---- kernels ----

Napi::Value Fill(const Napi::CallbackInfo &info) {
  Args a(info, "fill");
  gc_buf out = a.buffer("out");
  check(info.Env(), gc_fill(out, a.number("value")));
  return info.Env().Undefined();
}

Napi::Value Random(const Napi::CallbackInfo &info) {
  Args a(info, "random");
  gc_buf out = a.buffer("out");
  int distribution = static_cast<int>(a.integer("distribution"));
  uint32_t lo = static_cast<uint32_t>(a.integer("seedLow")), hi = static_cast<uint32_t>(a.integer("seedHigh"));
  int64_t offset = a.integer("offset");
  if (offset < 0) throw_error(info.Env(), "random: offset must be >= 0, got " + std::to_string(offset));
  double lo_v = a.number("a"), hi_v = a.number("b");
  check(info.Env(), gc_random(out, distribution, lo, hi, static_cast<uint64_t>(offset), lo_v, hi_v));
  return info.Env().Undefined();
}

Napi::Value Cast(const Napi::CallbackInfo &info) {
  Args a(info, "cast");
  gc_buf x = a.buffer("x"), out = a.buffer("out");
  check(info.Env(), gc_cast(x, out));
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "copy");
  gc_buf src = a.buffer("src");
  std::vector<int64_t> shape = a.integers("shape");
  if (shape.size() > GC_MAX_DIMS)
    throw_error(env, "copy: " + std::to_string(shape.size()) + " dimensions, at most " + std::to_string(GC_MAX_DIMS) + " supported");
  gc_view sv{}, dv{};
  sv.ndim = dv.ndim = static_cast<int>(shape.size());
  fill_dims(env, "copy", shape, sv.shape, shape.size());
  fill_dims(env, "copy", shape, dv.shape, shape.size());
  fill_dims(env, "copy", a.integers("srcStrides"), sv.strides, shape.size());
  sv.offset = a.integer("srcOffset");
  gc_buf dst = a.buffer("dst");
  fill_dims(env, "copy", a.integers("dstStrides"), dv.strides, shape.size());
  dv.offset = a.integer("dstOffset");
  check(env, gc_copy(src, &sv, dst, &dv));
  return env.Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo &info) {
  Args a(info, "unary");
  int op = static_cast<int>(a.integer("op"));
  gc_buf x = a.buffer("x"), out = a.buffer("out");
  check(info.Env(), gc_unary(op, x, out));
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo &info) {
  Args a(info, "binary");
  int op = static_cast<int>(a.integer("op"));
  gc_buf x = a.buffer("a"), y = a.buffer("b"), out = a.buffer("out");
  gc_layout l = read_layout(a, info.Env(), "binary", false);
  check(info.Env(), gc_binary(op, x, y, out, &l));
  return info.Env().Undefined();
}

Napi::Value Where(const Napi::CallbackInfo &info) {
  Args a(info, "where");
  gc_buf cond = a.buffer("cond"), x = a.buffer("a"), y = a.buffer("b"), out = a.buffer("out");
  gc_layout l = read_layout(a, info.Env(), "where", true);
  check(info.Env(), gc_where(cond, x, y, out, &l));
  return info.Env().Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo &info) {
  Args a(info, "reduce");
  int op = static_cast<int>(a.integer("op"));
  gc_buf x = a.buffer("x"), out = a.buffer("out");
  int64_t outer = a.integer("outer"), reduce = a.integer("reduce"), inner = a.integer("inner");
  check(info.Env(), gc_reduce(op, x, out, outer, reduce, inner));
  return info.Env().Undefined();
}

Napi::Value Argmax(const Napi::CallbackInfo &info) {
  Args a(info, "argmax");
  gc_buf x = a.buffer("x"), out = a.buffer("out");
  int64_t outer = a.integer("outer"), reduce = a.integer("reduce"), inner = a.integer("inner");
  check(info.Env(), gc_argmax(x, out, outer, reduce, inner));
  return info.Env().Undefined();
}

Napi::Value Matmul(const Napi::CallbackInfo &info) {
  Args a(info, "matmul");
  gc_buf x = a.buffer("a"), y = a.buffer("b"), out = a.buffer("out");
  gc_matmul_params p{};
  p.batch = a.integer("batch");
  p.m = a.integer("m");
  p.n = a.integer("n");
  p.k = a.integer("k");
  p.trans_a = a.boolean("transA");
  p.trans_b = a.boolean("transB");
  p.a_batch_stride = a.integer("aBatchStride");
  p.b_batch_stride = a.integer("bBatchStride");
  p.accumulate = a.boolean("accumulate");
  check(info.Env(), gc_matmul(x, y, out, &p));
  return info.Env().Undefined();
}

Napi::Value Svd(const Napi::CallbackInfo &info) {
  Args a(info, "svd");
  gc_buf x = a.buffer("a");
  int64_t m = a.integer("m"), n = a.integer("n");
  gc_buf u = a.buffer("u"), s = a.buffer("s"), vt = a.buffer("vt");
  check(info.Env(), gc_svd(x, m, n, u, s, vt));
  return info.Env().Undefined();
}

Napi::Value Qr(const Napi::CallbackInfo &info) {
  Args a(info, "qr");
  gc_buf x = a.buffer("a");
  int64_t m = a.integer("m"), n = a.integer("n");
  gc_buf q = a.buffer("q"), r = a.buffer("r");
  check(info.Env(), gc_qr(x, m, n, q, r));
  return info.Env().Undefined();
}

Napi::Value GatherRows(const Napi::CallbackInfo &info) {
  Args a(info, "gatherRows");
  gc_buf table = a.buffer("table"), ids = a.buffer("ids"), out = a.buffer("out");
  check(info.Env(), gc_gather_rows(table, ids, out, a.integer("dim")));
  return info.Env().Undefined();
}

Napi::Value ScatterAddRows(const Napi::CallbackInfo &info) {
  Args a(info, "scatterAddRows");
  gc_buf src = a.buffer("src"), ids = a.buffer("ids"), out = a.buffer("out");
  check(info.Env(), gc_scatter_add_rows(src, ids, out, a.integer("dim")));
  return info.Env().Undefined();
}

Napi::Value Softmax(const Napi::CallbackInfo &info) {
  Args a(info, "softmax");
  gc_buf x = a.buffer("x"), out = a.buffer("out");
  int64_t rows = a.integer("rows"), cols = a.integer("cols"), qlen = a.integer("causalQueryLen"), offset = a.integer("causalOffset");
  bool log = a.boolean("log");
  check(info.Env(), gc_softmax(x, out, rows, cols, qlen, offset, log ? 1 : 0));
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo &info) {
  Args a(info, "softmaxBackward");
  gc_buf y = a.buffer("y"), dy = a.buffer("dy"), dx = a.buffer("dx");
  int64_t rows = a.integer("rows"), cols = a.integer("cols");
  bool log = a.boolean("log");
  check(info.Env(), gc_softmax_backward(y, dy, dx, rows, cols, log ? 1 : 0));
  return info.Env().Undefined();
}

Napi::Value CrossEntropy(const Napi::CallbackInfo &info) {
  Args a(info, "crossEntropy");
  gc_buf logits = a.buffer("logits"), targets = a.buffer("targets"), loss = a.buffer("loss");
  int64_t rows = a.integer("rows"), cols = a.integer("cols"), ignore = a.integer("ignoreIndex");
  check(info.Env(), gc_cross_entropy(logits, targets, loss, rows, cols, ignore));
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo &info) {
  Args a(info, "crossEntropyBackward");
  gc_buf logits = a.buffer("logits"), targets = a.buffer("targets"), dloss = a.buffer("dloss"), dx = a.buffer("dx");
  int64_t rows = a.integer("rows"), cols = a.integer("cols"), ignore = a.integer("ignoreIndex");
  check(info.Env(), gc_cross_entropy_backward(logits, targets, dloss, dx, rows, cols, ignore));
  return info.Env().Undefined();
}

Napi::Value RmsNorm(const Napi::CallbackInfo &info) {
  Args a(info, "rmsNorm");
  gc_buf x = a.buffer("x"), w = a.buffer("weight"), out = a.buffer("out"), rstd = a.buffer("rstd");
  int64_t rows = a.integer("rows"), cols = a.integer("cols");
  double eps = a.number("eps");
  check(info.Env(), gc_rms_norm(x, w, out, rstd, rows, cols, eps));
  return info.Env().Undefined();
}

Napi::Value RmsNormBackward(const Napi::CallbackInfo &info) {
  Args a(info, "rmsNormBackward");
  gc_buf x = a.buffer("x"), w = a.buffer("weight"), rstd = a.buffer("rstd"), dy = a.buffer("dy"), dx = a.buffer("dx"),
         dw = a.buffer("dweight");
  int64_t rows = a.integer("rows"), cols = a.integer("cols");
  check(info.Env(), gc_rms_norm_backward(x, w, rstd, dy, dx, dw, rows, cols));
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo &info) {
  Args a(info, "layerNorm");
  gc_buf x = a.buffer("x"), w = a.buffer("weight"), b = a.buffer("bias"), out = a.buffer("out"), mean = a.buffer("mean"),
         rstd = a.buffer("rstd");
  int64_t rows = a.integer("rows"), cols = a.integer("cols");
  double eps = a.number("eps");
  check(info.Env(), gc_layer_norm(x, w, b, out, mean, rstd, rows, cols, eps));
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo &info) {
  Args a(info, "layerNormBackward");
  gc_buf x = a.buffer("x"), w = a.buffer("weight"), mean = a.buffer("mean"), rstd = a.buffer("rstd"), dy = a.buffer("dy"),
         dx = a.buffer("dx"), dw = a.buffer("dweight"), db = a.buffer("dbias");
  int64_t rows = a.integer("rows"), cols = a.integer("cols");
  check(info.Env(), gc_layer_norm_backward(x, w, mean, rstd, dy, dx, dw, db, rows, cols));
  return info.Env().Undefined();
}

Napi::Value Rope(const Napi::CallbackInfo &info) {
  Args a(info, "rope");
  gc_buf x = a.buffer("x"), c = a.buffer("cos"), s = a.buffer("sin"), out = a.buffer("out");
  int64_t batch = a.integer("batch"), seq = a.integer("seq"), heads = a.integer("heads"), dim = a.integer("headDim");
  bool inverse = a.boolean("inverse");
  check(info.Env(), gc_rope(x, c, s, out, batch, seq, heads, dim, inverse ? 1 : 0));
  return info.Env().Undefined();
}

Napi::Value SiluMul(const Napi::CallbackInfo &info) {
  Args a(info, "siluMul");
  gc_buf g = a.buffer("gate"), u = a.buffer("up"), out = a.buffer("out");
  check(info.Env(), gc_silu_mul(g, u, out));
  return info.Env().Undefined();
}

Napi::Value SiluMulBackward(const Napi::CallbackInfo &info) {
  Args a(info, "siluMulBackward");
  gc_buf g = a.buffer("gate"), u = a.buffer("up"), dy = a.buffer("dy"), dg = a.buffer("dgate"), du = a.buffer("dup");
  check(info.Env(), gc_silu_mul_backward(g, u, dy, dg, du));
  return info.Env().Undefined();
}

Napi::Value Gelu(const Napi::CallbackInfo &info) {
  Args a(info, "gelu");
  gc_buf x = a.buffer("x"), out = a.buffer("out");
  check(info.Env(), gc_gelu(x, out));
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo &info) {
  Args a(info, "geluBackward");
  gc_buf x = a.buffer("x"), dy = a.buffer("dy"), dx = a.buffer("dx");
  check(info.Env(), gc_gelu_backward(x, dy, dx));
  return info.Env().Undefined();
}

Napi::Value AdamW(const Napi::CallbackInfo &info) {
  Args a(info, "adamw");
  gc_buf p = a.buffer("param"), g = a.buffer("grad"), m = a.buffer("m"), v = a.buffer("v");
  gc_adamw_params params{};
  params.lr = a.number("lr");
  params.beta1 = a.number("beta1");
  params.beta2 = a.number("beta2");
  params.eps = a.number("eps");
  params.weight_decay = a.number("weightDecay");
  params.bias_correction1 = a.number("biasCorrection1");
  params.bias_correction2 = a.number("biasCorrection2");
  check(info.Env(), gc_adamw(p, g, m, v, &params));
  return info.Env().Undefined();
}

Napi::Value QuantizeBlockwise(const Napi::CallbackInfo &info) {
  Args a(info, "quantizeBlockwise");
  gc_buf x = a.buffer("x"), cb = a.buffer("codebook"), codes = a.buffer("codes"), absmax = a.buffer("absmax");
  check(info.Env(), gc_quantize_blockwise(x, cb, codes, absmax, a.integer("blockSize")));
  return info.Env().Undefined();
}

Napi::Value DequantizeBlockwise(const Napi::CallbackInfo &info) {
  Args a(info, "dequantizeBlockwise");
  gc_buf codes = a.buffer("codes"), cb = a.buffer("codebook"), absmax = a.buffer("absmax"), out = a.buffer("out");
  check(info.Env(), gc_dequantize_blockwise(codes, cb, absmax, out, a.integer("blockSize")));
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  const std::pair<const char *, Napi::Value (*)(const Napi::CallbackInfo &)> functions[] = {
      {"deviceCount", DeviceCount}, {"init", Init}, {"shutdown", Shutdown}, {"useLibraries", UseLibraries},
      {"alloc", Alloc}, {"free", Free}, {"memoryStats", MemoryStats}, {"emptyCache", EmptyCache},
      {"upload", Upload}, {"download", Download}, {"synchronize", Synchronize},
      {"fill", Fill}, {"random", Random}, {"cast", Cast}, {"copy", Copy},
      {"unary", Unary}, {"binary", Binary}, {"where", Where}, {"reduce", Reduce}, {"argmax", Argmax},
      {"matmul", Matmul}, {"svd", Svd}, {"qr", Qr}, {"gatherRows", GatherRows}, {"scatterAddRows", ScatterAddRows},
      {"softmax", Softmax}, {"softmaxBackward", SoftmaxBackward}, {"crossEntropy", CrossEntropy},
      {"crossEntropyBackward", CrossEntropyBackward}, {"rmsNorm", RmsNorm}, {"rmsNormBackward", RmsNormBackward},
      {"layerNorm", LayerNorm}, {"layerNormBackward", LayerNormBackward}, {"rope", Rope}, {"siluMul", SiluMul},
      {"siluMulBackward", SiluMulBackward}, {"gelu", Gelu}, {"geluBackward", GeluBackward}, {"adamw", AdamW},
      {"quantizeBlockwise", QuantizeBlockwise}, {"dequantizeBlockwise", DequantizeBlockwise},
  };
  for (const auto &f : functions) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
  return exports;
}

}  // namespace

NODE_API_MODULE(galore_cuda, Register)
