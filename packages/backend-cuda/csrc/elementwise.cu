// Creation, conversion and elementwise kernels: fill, cast, strided copy, unary, broadcasting
// binary, where. Values go through float32, or through double when an int32 is involved so that
// integers stay exact.
#include <cstring>

#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256;

// Element offsets of linear index i of `shape` under two or three stride sets.
struct Offsets {
  int64_t a, b, c;
};

__device__ __forceinline__ Offsets broadcast_offsets(const gc_layout &l, int64_t i) {
  Offsets o{0, 0, 0};
  for (int d = l.ndim - 1; d >= 0; d--) {
    int64_t idx = i % l.shape[d];
    i /= l.shape[d];
    o.a += idx * l.a_strides[d];
    o.b += idx * l.b_strides[d];
    o.c += idx * l.cond_strides[d];
  }
  return o;
}

__global__ void fill_kernel(void *out, int dtype, int64_t n, double value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    store_d(out, dtype, i, value);
}

__global__ void convert_kernel(const void *x, int x_dtype, void *out, int out_dtype, int64_t n, bool wide) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (wide) store_d(out, out_dtype, i, load_d(x, x_dtype, i));
    else store_f(out, out_dtype, i, load_f(x, x_dtype, i));
  }
}

// Strided copy: the linear index walks `shape`; source and destination have their own strides.
struct CopyPlan {
  int ndim;
  int64_t shape[GC_MAX_DIMS];
  int64_t src_strides[GC_MAX_DIMS];
  int64_t dst_strides[GC_MAX_DIMS];
  int64_t src_offset, dst_offset;
};

// The source and destination element offsets of element i (row-major over p.shape).
__device__ __forceinline__ void copy_offsets(const CopyPlan &p, int64_t i, int64_t &s, int64_t &d) {
  int64_t rem = i;
  s = p.src_offset;
  d = p.dst_offset;
  for (int k = p.ndim - 1; k >= 0; k--) {
    int64_t idx = rem % p.shape[k];
    rem /= p.shape[k];
    s += idx * p.src_strides[k];
    d += idx * p.dst_strides[k];
  }
}

template <typename T>
__global__ void copy_raw_kernel(const T *src, T *dst, CopyPlan p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t s, d;
    copy_offsets(p, i, s, d);
    dst[d] = src[s];
  }
}

__global__ void copy_convert_kernel(const void *src, int src_dtype, void *dst, int dst_dtype, CopyPlan p, int64_t n, bool wide) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t s, d;
    copy_offsets(p, i, s, d);
    if (wide) store_d(dst, dst_dtype, d, load_d(src, src_dtype, s));
    else store_f(dst, dst_dtype, d, load_f(src, src_dtype, s));
  }
}

template <typename T>
__device__ __forceinline__ T unary_op(int op, T x) {
  switch (op) {
    case GC_NEG: return -x;
    case GC_EXP: return exp(x);
    case GC_LOG: return log(x);
    case GC_SQRT: return sqrt(x);
    case GC_RSQRT: return T(1) / sqrt(x);
    case GC_ABS: return fabs(x);
    case GC_SIGMOID: return T(1) / (T(1) + exp(-x));
    case GC_SILU: return x / (T(1) + exp(-x));
    case GC_TANH: return tanh(x);
    case GC_RELU: return x > T(0) ? x : (x != x ? x : T(0));
    case GC_SIGN: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);  // keeps 0, -0 and NaN
    case GC_SQUARE: return x * x;
    case GC_RECIPROCAL: return T(1) / x;
    case GC_SIN: return sin(x);
    case GC_COS: return cos(x);
  }
  return x;
}

__global__ void unary_kernel(int op, const void *x, int x_dtype, void *out, int out_dtype, int64_t n, bool wide) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (wide) store_d(out, out_dtype, i, unary_op<double>(op, load_d(x, x_dtype, i)));
    else store_f(out, out_dtype, i, unary_op<float>(op, load_f(x, x_dtype, i)));
  }
}

template <typename T>
__device__ __forceinline__ T binary_op(int op, T a, T b) {
  switch (op) {
    case GC_ADD: return a + b;
    case GC_SUB: return a - b;
    case GC_MUL: return a * b;
    case GC_DIV: return a / b;
    case GC_POW: return pow(a, b);
    case GC_MAXIMUM: return (a != a || b != b) ? a + b : (a > b ? a : b);  // NaN propagates
    case GC_MINIMUM: return (a != a || b != b) ? a + b : (a < b ? a : b);
    case GC_EQ: return T(a == b);
    case GC_NE: return T(a != b);
    case GC_LT: return T(a < b);
    case GC_LE: return T(a <= b);
    case GC_GT: return T(a > b);
    case GC_GE: return T(a >= b);
  }
  return a;
}

__global__ void binary_kernel(int op, const void *a, int a_dtype, const void *b, int b_dtype, void *out, int out_dtype,
                              gc_layout layout, int64_t n, bool contiguous, bool wide) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    Offsets o = contiguous ? Offsets{i, i, 0} : broadcast_offsets(layout, i);
    if (op == GC_MUL && out_dtype == GC_I32) {  // int32 products wrap (Math.imul), no low bits lost
      uint32_t x = static_cast<uint32_t>(to_int32(load_d(a, a_dtype, o.a))), y = static_cast<uint32_t>(to_int32(load_d(b, b_dtype, o.b)));
      static_cast<int32_t *>(out)[i] = static_cast<int32_t>(x * y);
    } else if (wide) store_d(out, out_dtype, i, binary_op<double>(op, load_d(a, a_dtype, o.a), load_d(b, b_dtype, o.b)));
    else store_f(out, out_dtype, i, binary_op<float>(op, load_f(a, a_dtype, o.a), load_f(b, b_dtype, o.b)));
  }
}

__global__ void where_kernel(const void *cond, int cond_dtype, const void *a, int a_dtype, const void *b, int b_dtype,
                             void *out, int out_dtype, gc_layout layout, int64_t n, bool wide) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    Offsets o = broadcast_offsets(layout, i);
    bool take_a = load_f(cond, cond_dtype, o.c) != 0.0f;
    if (wide) store_d(out, out_dtype, i, take_a ? load_d(a, a_dtype, o.a) : load_d(b, b_dtype, o.b));
    else store_f(out, out_dtype, i, take_a ? load_f(a, a_dtype, o.a) : load_f(b, b_dtype, o.b));
  }
}

bool involves_int32(gc_dtype x, gc_dtype y, gc_dtype z = GC_F32) { return x == GC_I32 || y == GC_I32 || z == GC_I32; }

int64_t product(const int64_t *shape, int ndim) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= shape[d];
  return n;
}

// Checks a layout's rank and shape, and that every stride set stays inside its buffer.
int check_layout(const char *where, const gc_layout &l, int64_t *count) {
  if (l.ndim < 0 || l.ndim > GC_MAX_DIMS)
    return fail(GC_ERR_ARGUMENT, "%s: layout has %d dimensions, expected 0 to %d", where, l.ndim, GC_MAX_DIMS);
  for (int d = 0; d < l.ndim; d++)
    if (l.shape[d] < 0) return fail(GC_ERR_ARGUMENT, "%s: layout dimension %d is %lld, expected >= 0", where, d, (long long)l.shape[d]);
  *count = product(l.shape, l.ndim);
  return GC_OK;
}

// Highest element index + 1 a stride set reaches over `shape` (strides must be >= 0).
int reach(const char *where, const char *name, const int64_t *shape, const int64_t *strides, int ndim, int64_t offset,
          int64_t *needed) {
  int64_t last = offset;
  for (int d = 0; d < ndim; d++) {
    if (strides[d] < 0)
      return fail(GC_ERR_ARGUMENT, "%s: %s stride %d is %lld, expected >= 0", where, name, d, (long long)strides[d]);
    if (shape[d] > 0) last += (shape[d] - 1) * strides[d];
  }
  *needed = last + 1;
  return GC_OK;
}

bool is_contiguous(const int64_t *shape, const int64_t *strides, int ndim) {
  int64_t expected = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" {

int gc_fill(gc_buf out, double value) {
  GC_TRY(require_init("fill"));
  GC_TRY(check_size("fill", "out", out, 0));
  if (out.size == 0) return GC_OK;
  if (value == 0.0 && !std::signbit(value)) {
    GC_CUDA(cudaMemsetAsync(out.data, 0, out.size * dtype_bytes(out.dtype), stream()), "fill (cudaMemsetAsync)");
    return GC_OK;
  }
  fill_kernel<<<grid_for(out.size, kThreads), kThreads, 0, stream()>>>(out.data, out.dtype, out.size, value);
  return launch_check("fill");
}

int gc_cast(gc_buf x, gc_buf out) {
  GC_TRY(require_init("cast"));
  GC_TRY(check_size("cast", "x", x, out.size));
  GC_TRY(check_size("cast", "out", out, x.size));
  if (x.size == 0) return GC_OK;
  if (x.dtype == out.dtype) {
    if (x.data != out.data)
      GC_CUDA(cudaMemcpyAsync(out.data, x.data, x.size * dtype_bytes(x.dtype), cudaMemcpyDeviceToDevice, stream()), "cast (copy)");
    return GC_OK;
  }
  convert_kernel<<<grid_for(x.size, kThreads), kThreads, 0, stream()>>>(x.data, x.dtype, out.data, out.dtype, x.size,
                                                                         involves_int32(x.dtype, out.dtype));
  return launch_check("cast");
}

int gc_copy(gc_buf src, const gc_view *sv, gc_buf dst, const gc_view *dv) {
  const char *where = "copy";
  GC_TRY(require_init(where));
  if (sv->ndim != dv->ndim)
    return fail(GC_ERR_ARGUMENT, "%s: source view has %d dimensions, destination view has %d", where, sv->ndim, dv->ndim);
  if (sv->ndim < 0 || sv->ndim > GC_MAX_DIMS)
    return fail(GC_ERR_ARGUMENT, "%s: views have %d dimensions, expected 0 to %d", where, sv->ndim, GC_MAX_DIMS);
  for (int d = 0; d < sv->ndim; d++)
    if (sv->shape[d] != dv->shape[d] || sv->shape[d] < 0)
      return fail(GC_ERR_ARGUMENT, "%s: dimension %d is %lld in the source view and %lld in the destination view", where, d,
                  (long long)sv->shape[d], (long long)dv->shape[d]);
  if (sv->offset < 0 || dv->offset < 0) return fail(GC_ERR_ARGUMENT, "%s: view offsets must be >= 0", where);
  int64_t n = product(sv->shape, sv->ndim);
  if (n == 0) return GC_OK;
  int64_t src_needed = 0, dst_needed = 0;
  GC_TRY(reach(where, "source", sv->shape, sv->strides, sv->ndim, sv->offset, &src_needed));
  GC_TRY(reach(where, "destination", dv->shape, dv->strides, dv->ndim, dv->offset, &dst_needed));
  GC_TRY(check_size(where, "src", src, src_needed));
  GC_TRY(check_size(where, "dst", dst, dst_needed));
  size_t elem = dtype_bytes(src.dtype);
  bool same = src.dtype == dst.dtype;
  if (same && is_contiguous(sv->shape, sv->strides, sv->ndim) && is_contiguous(dv->shape, dv->strides, dv->ndim)) {
    GC_CUDA(cudaMemcpyAsync(static_cast<char *>(dst.data) + dv->offset * elem, static_cast<const char *>(src.data) + sv->offset * elem,
                            n * elem, cudaMemcpyDeviceToDevice, stream()),
            "copy (cudaMemcpyAsync)");
    return GC_OK;
  }
  CopyPlan plan{};
  plan.ndim = sv->ndim;
  for (int d = 0; d < sv->ndim; d++) {
    plan.shape[d] = sv->shape[d];
    plan.src_strides[d] = sv->strides[d];
    plan.dst_strides[d] = dv->strides[d];
  }
  plan.src_offset = sv->offset;
  plan.dst_offset = dv->offset;
  unsigned grid = grid_for(n, kThreads);
  if (!same) {
    copy_convert_kernel<<<grid, kThreads, 0, stream()>>>(src.data, src.dtype, dst.data, dst.dtype, plan, n,
                                                         involves_int32(src.dtype, dst.dtype));
  } else if (elem == 4) {
    copy_raw_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<const uint32_t *>(src.data), static_cast<uint32_t *>(dst.data), plan, n);
  } else if (elem == 2) {
    copy_raw_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<const uint16_t *>(src.data), static_cast<uint16_t *>(dst.data), plan, n);
  } else {
    copy_raw_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<const uint8_t *>(src.data), static_cast<uint8_t *>(dst.data), plan, n);
  }
  return launch_check(where);
}

int gc_unary(int op, gc_buf x, gc_buf out) {
  GC_TRY(require_init("unary"));
  if (op < 0 || op >= GC_UNARY_COUNT) return fail(GC_ERR_ARGUMENT, "unary: unknown op code %d", op);
  GC_TRY(check_size("unary", "x", x, out.size));
  GC_TRY(check_size("unary", "out", out, x.size));
  if (x.size == 0) return GC_OK;
  unary_kernel<<<grid_for(x.size, kThreads), kThreads, 0, stream()>>>(op, x.data, x.dtype, out.data, out.dtype, x.size,
                                                                       involves_int32(x.dtype, out.dtype));
  return launch_check("unary");
}

int gc_binary(int op, gc_buf a, gc_buf b, gc_buf out, const gc_layout *layout) {
  const char *where = "binary";
  GC_TRY(require_init(where));
  if (op < 0 || op >= GC_BINARY_COUNT) return fail(GC_ERR_ARGUMENT, "%s: unknown op code %d", where, op);
  int64_t n = 0;
  GC_TRY(check_layout(where, *layout, &n));
  if (n == 0) return GC_OK;
  int64_t a_needed = 0, b_needed = 0;
  GC_TRY(reach(where, "a", layout->shape, layout->a_strides, layout->ndim, 0, &a_needed));
  GC_TRY(reach(where, "b", layout->shape, layout->b_strides, layout->ndim, 0, &b_needed));
  GC_TRY(check_size(where, "a", a, a_needed));
  GC_TRY(check_size(where, "b", b, b_needed));
  GC_TRY(check_size(where, "out", out, n));
  bool contiguous = is_contiguous(layout->shape, layout->a_strides, layout->ndim) &&
                    is_contiguous(layout->shape, layout->b_strides, layout->ndim);
  gc_layout l = *layout;
  for (int d = 0; d < GC_MAX_DIMS; d++) l.cond_strides[d] = 0;
  binary_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(op, a.data, a.dtype, b.data, b.dtype, out.data, out.dtype, l, n,
                                                                   contiguous, involves_int32(a.dtype, b.dtype, out.dtype));
  return launch_check(where);
}

int gc_where(gc_buf cond, gc_buf a, gc_buf b, gc_buf out, const gc_layout *layout) {
  const char *where = "where";
  GC_TRY(require_init(where));
  int64_t n = 0;
  GC_TRY(check_layout(where, *layout, &n));
  if (n == 0) return GC_OK;
  int64_t c_needed = 0, a_needed = 0, b_needed = 0;
  GC_TRY(reach(where, "cond", layout->shape, layout->cond_strides, layout->ndim, 0, &c_needed));
  GC_TRY(reach(where, "a", layout->shape, layout->a_strides, layout->ndim, 0, &a_needed));
  GC_TRY(reach(where, "b", layout->shape, layout->b_strides, layout->ndim, 0, &b_needed));
  GC_TRY(check_size(where, "cond", cond, c_needed));
  GC_TRY(check_size(where, "a", a, a_needed));
  GC_TRY(check_size(where, "b", b, b_needed));
  GC_TRY(check_size(where, "out", out, n));
  where_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(cond.data, cond.dtype, a.data, a.dtype, b.data, b.dtype, out.data,
                                                                  out.dtype, *layout, n, involves_int32(a.dtype, b.dtype, out.dtype));
  return launch_check(where);
}

}  // extern "C"
