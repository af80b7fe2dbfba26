// Reductions over the middle axis of a contiguous [outer, reduce, inner] view: sum / max / min
// and argmax. Float inputs accumulate in float32 (tree order, which is also more accurate than a
// running sum); int32 inputs accumulate in double so that integer sums stay exact.
#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256;

template <typename Acc>
__device__ __forceinline__ Acc identity(int op) {
  if (op == GC_SUM) return Acc(0);
  return op == GC_MAX ? Acc(-INFINITY) : Acc(INFINITY);
}

// NaN wins max and min, as in PyTorch.
template <typename Acc>
__device__ __forceinline__ Acc combine(int op, Acc acc, Acc v) {
  if (op == GC_SUM) return acc + v;
  if (acc != acc || v != v) return acc + v;
  return op == GC_MAX ? (v > acc ? v : acc) : (v < acc ? v : acc);
}

template <typename Acc>
__device__ __forceinline__ Acc load_acc(const void *p, int dtype, int64_t i) {
  if constexpr (sizeof(Acc) == 8) return load_d(p, dtype, i);
  else return load_f(p, dtype, i);
}

template <typename Acc>
__device__ __forceinline__ void store_acc(void *p, int dtype, int64_t i, Acc v) {
  if constexpr (sizeof(Acc) == 8) store_d(p, dtype, i, v);
  else store_f(p, dtype, i, v);
}

// inner == 1: one block per row, threads stride along the row, then a shared-memory tree.
template <typename Acc>
__global__ void reduce_rows_kernel(int op, const void *x, int x_dtype, void *out, int out_dtype, int64_t outer, int64_t reduce) {
  __shared__ Acc partial[kThreads];
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    Acc acc = identity<Acc>(op);
    for (int64_t j = threadIdx.x; j < reduce; j += blockDim.x) acc = combine(op, acc, load_acc<Acc>(x, x_dtype, row * reduce + j));
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) partial[threadIdx.x] = combine(op, partial[threadIdx.x], partial[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) store_acc<Acc>(out, out_dtype, row, partial[0]);
    __syncthreads();
  }
}

// inner > 1: one thread per output, walking the reduced axis; neighbouring threads read
// neighbouring inner elements, so loads coalesce.
template <typename Acc>
__global__ void reduce_cols_kernel(int op, const void *x, int x_dtype, void *out, int out_dtype, int64_t outer, int64_t reduce,
                                   int64_t inner) {
  int64_t total = outer * inner;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    int64_t b = o / inner, i = o % inner;
    const int64_t base = b * reduce * inner + i;
    Acc acc = identity<Acc>(op);
    for (int64_t j = 0; j < reduce; j++) acc = combine(op, acc, load_acc<Acc>(x, x_dtype, base + j * inner));
    store_acc<Acc>(out, out_dtype, o, acc);
  }
}

// Strictly greater wins, so the first maximum keeps its place; the first NaN counts as maximal.
__device__ __forceinline__ bool better(float v, int64_t j, float best, int64_t best_j) {
  bool v_nan = v != v, best_nan = best != best;
  if (v_nan || best_nan) return v_nan && (!best_nan || j < best_j);
  return v > best || (v == best && j < best_j);
}

__global__ void argmax_rows_kernel(const void *x, int x_dtype, int32_t *out, int64_t outer, int64_t reduce) {
  __shared__ float best_v[kThreads];
  __shared__ int64_t best_i[kThreads];
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    float bv = -INFINITY;
    int64_t bi = reduce;  // "none yet": any real index beats it on ties
    for (int64_t j = threadIdx.x; j < reduce; j += blockDim.x) {
      float v = load_f(x, x_dtype, row * reduce + j);
      if (better(v, j, bv, bi) || bi == reduce) {
        bv = v;
        bi = j;
      }
    }
    best_v[threadIdx.x] = bv;
    best_i[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) {
        int64_t oi = best_i[threadIdx.x + s];
        if (oi != reduce && (best_i[threadIdx.x] == reduce || better(best_v[threadIdx.x + s], oi, best_v[threadIdx.x], best_i[threadIdx.x]))) {
          best_v[threadIdx.x] = best_v[threadIdx.x + s];
          best_i[threadIdx.x] = oi;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[row] = static_cast<int32_t>(best_i[0] == reduce ? 0 : best_i[0]);
    __syncthreads();
  }
}

__global__ void argmax_cols_kernel(const void *x, int x_dtype, int32_t *out, int64_t outer, int64_t reduce, int64_t inner) {
  int64_t total = outer * inner;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    int64_t b = o / inner, i = o % inner;
    const int64_t base = b * reduce * inner + i;
    float bv = reduce > 0 ? load_f(x, x_dtype, base) : 0.0f;
    int64_t bi = 0;
    for (int64_t j = 1; j < reduce; j++) {
      float v = load_f(x, x_dtype, base + j * inner);
      if (better(v, j, bv, bi)) {
        bv = v;
        bi = j;
      }
    }
    out[o] = static_cast<int32_t>(bi);
  }
}

int check_reduce_layout(const char *where, const gc_buf &x, const gc_buf &out, int64_t outer, int64_t reduce, int64_t inner) {
  if (outer < 0 || reduce < 0 || inner < 0)
    return fail(GC_ERR_ARGUMENT, "%s: layout [outer, reduce, inner] = [%lld, %lld, %lld] must not be negative", where,
                (long long)outer, (long long)reduce, (long long)inner);
  GC_TRY(check_size(where, "x", x, outer * reduce * inner));
  return check_size(where, "out", out, outer * inner);
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" {

int gc_reduce(int op, gc_buf x, gc_buf out, int64_t outer, int64_t reduce, int64_t inner) {
  GC_TRY(require_init("reduce"));
  if (op < 0 || op >= GC_REDUCE_COUNT) return fail(GC_ERR_ARGUMENT, "reduce: unknown op code %d", op);
  GC_TRY(check_reduce_layout("reduce", x, out, outer, reduce, inner));
  int64_t outputs = outer * inner;
  if (outputs == 0) return GC_OK;
  bool wide = x.dtype == GC_I32 || out.dtype == GC_I32;
  if (inner == 1) {
    unsigned grid = static_cast<unsigned>(outer < 65535 * 8 ? outer : 65535 * 8);
    if (wide) reduce_rows_kernel<double><<<grid, kThreads, 0, stream()>>>(op, x.data, x.dtype, out.data, out.dtype, outer, reduce);
    else reduce_rows_kernel<float><<<grid, kThreads, 0, stream()>>>(op, x.data, x.dtype, out.data, out.dtype, outer, reduce);
  } else {
    unsigned grid = grid_for(outputs, kThreads);
    if (wide) reduce_cols_kernel<double><<<grid, kThreads, 0, stream()>>>(op, x.data, x.dtype, out.data, out.dtype, outer, reduce, inner);
    else reduce_cols_kernel<float><<<grid, kThreads, 0, stream()>>>(op, x.data, x.dtype, out.data, out.dtype, outer, reduce, inner);
  }
  return launch_check("reduce");
}

int gc_argmax(gc_buf x, gc_buf out, int64_t outer, int64_t reduce, int64_t inner) {
  GC_TRY(require_init("argmax"));
  GC_TRY(check_dtype("argmax", "out", out, GC_I32));
  GC_TRY(check_reduce_layout("argmax", x, out, outer, reduce, inner));
  int64_t outputs = outer * inner;
  if (outputs == 0) return GC_OK;
  int32_t *o = static_cast<int32_t *>(out.data);
  if (inner == 1) {
    unsigned grid = static_cast<unsigned>(outer < 65535 * 8 ? outer : 65535 * 8);
    argmax_rows_kernel<<<grid, kThreads, 0, stream()>>>(x.data, x.dtype, o, outer, reduce);
  } else {
    argmax_cols_kernel<<<grid_for(outputs, kThreads), kThreads, 0, stream()>>>(x.data, x.dtype, o, outer, reduce, inner);
  }
  return launch_check("argmax");
}

}  // extern "C"
