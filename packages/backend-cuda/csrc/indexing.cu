// Row gather (embedding lookup) and row scatter-add (its gradient). Ids are int32; an id out of
// range is flagged to the host (reported at the next sync or read) and its row is skipped or
// zero-filled, so a bad id never reads or writes outside a buffer.
#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256;

// The table element that output element e reads, or -1 (flagged) when its id is out of range:
// a bad id reads as zero here and throws at the next sync, as on every backend.
__device__ __forceinline__ int64_t gather_source(const int32_t *ids, int64_t rows, int64_t dim, int64_t e, int *flag) {
  int32_t id = ids[e / dim];
  if (id < 0 || id >= rows) {
    flag_error(flag, FLAG_GATHER_ID, id);
    return -1;
  }
  return int64_t(id) * dim + e % dim;
}

template <typename T>
__global__ void gather_raw_kernel(const T *table, int64_t rows, const int32_t *ids, T *out, int64_t count, int64_t dim,
                                  int *flag) {
  int64_t total = count * dim;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t from = gather_source(ids, rows, dim, e, flag);
    out[e] = from < 0 ? T(0) : table[from];
  }
}

__global__ void gather_convert_kernel(const void *table, int table_dtype, int64_t rows, const int32_t *ids, void *out,
                                      int out_dtype, int64_t count, int64_t dim, int *flag) {
  int64_t total = count * dim;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t from = gather_source(ids, rows, dim, e, flag);
    store_d(out, out_dtype, e, from < 0 ? 0.0 : load_d(table, table_dtype, from));
  }
}

__device__ __forceinline__ void atomic_add_any(void *out, int dtype, int64_t i, double v) {
  switch (dtype) {
    case GC_F32: atomicAdd(static_cast<float *>(out) + i, static_cast<float>(v)); break;
    case GC_BF16: atomicAdd(static_cast<__nv_bfloat16 *>(out) + i, __float2bfloat16_rn(static_cast<float>(v))); break;
    case GC_F16: atomicAdd(static_cast<__half *>(out) + i, __float2half_rn(static_cast<float>(v))); break;
    case GC_I32: atomicAdd(static_cast<int *>(out) + i, static_cast<int>(v)); break;
    default: break;  // uint8 is rejected on the host
  }
}

__global__ void scatter_add_kernel(const void *src, int src_dtype, const int32_t *ids, void *out, int out_dtype, int64_t rows,
                                   int64_t count, int64_t dim, int *flag) {
  int64_t total = count * dim;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = e / dim, c = e % dim;
    int32_t id = ids[r];
    if (id < 0 || id >= rows) {
      if (c == 0) flag_error(flag, FLAG_SCATTER_ID, id);
      continue;
    }
    atomic_add_any(out, out_dtype, int64_t(id) * dim + c, load_d(src, src_dtype, e));
  }
}

// The checks gatherRows and scatterAddRows share: int32 ids and a `role` buffer of whole rows of `dim`.
int check_row_op(const char *where, const char *role, gc_buf rows, gc_buf ids, int64_t dim) {
  GC_TRY(require_init(where));
  GC_TRY(check_positive(where, "dim", dim));
  GC_TRY(check_dtype(where, "ids", ids, GC_I32));
  if (rows.size % dim != 0)
    return fail(GC_ERR_ARGUMENT, "%s: %s holds %lld elements, not a whole number of rows of %lld", where, role,
                (long long)rows.size, (long long)dim);
  return GC_OK;
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" {

int gc_gather_rows(gc_buf table, gc_buf ids, gc_buf out, int64_t dim) {
  const char *where = "gatherRows";
  GC_TRY(check_row_op(where, "table", table, ids, dim));
  int64_t count = ids.size, rows = table.size / dim;
  GC_TRY(check_size(where, "out", out, count * dim));
  if (count == 0) return GC_OK;
  unsigned grid = grid_for(count * dim, kThreads);
  const int32_t *id = static_cast<const int32_t *>(ids.data);
  if (table.dtype == out.dtype) {
    size_t elem = dtype_bytes(table.dtype);
    if (elem == 4)
      gather_raw_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<const uint32_t *>(table.data), rows, id,
                                                         static_cast<uint32_t *>(out.data), count, dim, error_flag());
    else if (elem == 2)
      gather_raw_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<const uint16_t *>(table.data), rows, id,
                                                         static_cast<uint16_t *>(out.data), count, dim, error_flag());
    else
      gather_raw_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<const uint8_t *>(table.data), rows, id,
                                                         static_cast<uint8_t *>(out.data), count, dim, error_flag());
  } else {
    gather_convert_kernel<<<grid, kThreads, 0, stream()>>>(table.data, table.dtype, rows, id, out.data, out.dtype, count, dim,
                                                           error_flag());
  }
  return launch_check(where);
}

int gc_scatter_add_rows(gc_buf src, gc_buf ids, gc_buf out, int64_t dim) {
  const char *where = "scatterAddRows";
  GC_TRY(check_row_op(where, "out", out, ids, dim));
  if (out.dtype == GC_U8) return fail(GC_ERR_ARGUMENT, "%s: out must be float32, bfloat16, float16 or int32, got uint8", where);
  int64_t count = ids.size, rows = out.size / dim;
  GC_TRY(check_size(where, "src", src, count * dim));
  if (count == 0) return GC_OK;
  scatter_add_kernel<<<grid_for(count * dim, kThreads), kThreads, 0, stream()>>>(
      src.data, src.dtype, static_cast<const int32_t *>(ids.data), out.data, out.dtype, rows, count, dim, error_flag());
  return launch_check(where);
}

}  // extern "C"
