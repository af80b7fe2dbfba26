// Blockwise 8-bit quantisation (the 8-bit optimizer states): per block, absmax = max |x| and each
// element becomes the index of the nearest entry of a sorted 256-entry codebook to x / absmax.
// As in the CPU reference, the normalised value is rounded to float32 (a correctly rounded
// division) and the distances are compared in double, so the chosen codes agree even at ties.
// The codebook may have 1 to 256 sorted entries.
#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256, kMaxCodes = 256;

// Nearest codebook entry by binary search; a tie goes to the lower index.
__device__ __forceinline__ int nearest_code(const float *cb, int codes, float q) {
  int lo = 0, hi = codes - 1;  // first index whose entry is >= q (the last one if none is)
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (cb[mid] < q) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && double(q) - double(cb[lo - 1]) <= double(cb[lo]) - double(q)) return lo - 1;
  return lo;
}

__global__ void quantize_kernel(const void *x, int x_dtype, const void *codebook, int cb_dtype, int n_codes, uint8_t *codes,
                                float *absmax, int64_t n, int64_t block_size) {
  __shared__ float cb[kMaxCodes];
  for (int i = threadIdx.x; i < n_codes; i += blockDim.x) cb[i] = load_f(codebook, cb_dtype, i);
  const int64_t blocks = (n + block_size - 1) / block_size;
  for (int64_t blk = blockIdx.x; blk < blocks; blk += gridDim.x) {
    const int64_t start = blk * block_size, end = start + block_size < n ? start + block_size : n;
    float mx = 0.0f;
    for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) mx = fmaxf(mx, fabsf(load_f(x, x_dtype, i)));
    mx = block_max(mx);  // also orders the codebook fill before its first use
    if (threadIdx.x == 0) absmax[blk] = mx;
    for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) {
      float q = mx > 0.0f ? load_f(x, x_dtype, i) / mx : 0.0f;
      codes[i] = static_cast<uint8_t>(nearest_code(cb, n_codes, q));
    }
  }
}

__global__ void dequantize_kernel(const uint8_t *codes, const void *codebook, int cb_dtype, int n_codes, const void *absmax, int absmax_dtype,
                                  void *out, int out_dtype, int64_t n, int64_t block_size) {
  __shared__ float cb[kMaxCodes];
  for (int i = threadIdx.x; i < n_codes; i += blockDim.x) cb[i] = load_f(codebook, cb_dtype, i);
  __syncthreads();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    store_f(out, out_dtype, i, codes[i] < n_codes ? cb[codes[i]] * load_f(absmax, absmax_dtype, i / block_size) : NAN);
}

int check_quant(const char *where, const gc_buf &values, const char *values_name, const gc_buf &codebook, const gc_buf &codes,
                const gc_buf &absmax, int64_t block_size) {
  GC_TRY(check_positive(where, "blockSize", block_size));
  GC_TRY(check_float(where, values_name, values));
  GC_TRY(check_float(where, "codebook", codebook));
  GC_TRY(check_float(where, "absmax", absmax));
  GC_TRY(check_dtype(where, "codes", codes, GC_U8));
  if (codebook.size < 1 || codebook.size > kMaxCodes)
    return fail(GC_ERR_ARGUMENT, "%s: codebook holds %lld entries, expected 1 to %d (codes are uint8)", where, (long long)codebook.size,
                kMaxCodes);
  const int64_t n = values.size;
  GC_TRY(check_size(where, "codes", codes, n));
  return check_size(where, "absmax", absmax, (n + block_size - 1) / block_size);
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" {

int gc_quantize_blockwise(gc_buf x, gc_buf codebook, gc_buf codes, gc_buf absmax, int64_t block_size) {
  const char *where = "quantizeBlockwise";
  GC_TRY(require_init(where));
  GC_TRY(check_quant(where, x, "x", codebook, codes, absmax, block_size));
  // A 16-bit scale would be rounded after the codes were chosen against it.
  GC_TRY(check_dtype(where, "absmax", absmax, GC_F32));
  if (x.size == 0) return GC_OK;
  const int64_t blocks = (x.size + block_size - 1) / block_size;
  unsigned grid = static_cast<unsigned>(blocks < 65535LL * 16 ? blocks : 65535LL * 16);
  quantize_kernel<<<grid, kThreads, 0, stream()>>>(x.data, x.dtype, codebook.data, codebook.dtype, int(codebook.size),
                                                   static_cast<uint8_t *>(codes.data), static_cast<float *>(absmax.data), x.size,
                                                   block_size);
  return launch_check(where);
}

int gc_dequantize_blockwise(gc_buf codes, gc_buf codebook, gc_buf absmax, gc_buf out, int64_t block_size) {
  const char *where = "dequantizeBlockwise";
  GC_TRY(require_init(where));
  GC_TRY(check_quant(where, out, "out", codebook, codes, absmax, block_size));
  if (out.size == 0) return GC_OK;
  dequantize_kernel<<<grid_for(out.size, kThreads), kThreads, 0, stream()>>>(static_cast<const uint8_t *>(codes.data), codebook.data,
                                                                              codebook.dtype, int(codebook.size), absmax.data, absmax.dtype, out.data,
                                                                              out.dtype, out.size, block_size);
  return launch_check(where);
}

}  // extern "C"
