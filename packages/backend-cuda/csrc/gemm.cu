// Our own batched GEMM, used when cuBLAS is not loaded (or refuses the dtype mix):
//   - bf16 x bf16 and f16 x f16: tensor cores through WMMA (16x16x16 fragments, f32 accumulation),
//     64x64 block tiles, 4 warps each computing 32x32;
//   - anything else: a shared-memory tiled f32 kernel, 64x64 tiles, 4x4 outputs per thread.
// Both handle the transpose flags by choosing the shared-memory layout (so global loads stay
// along the contiguous axis), broadcast batch strides, and `accumulate` (out += product).
#include <mma.h>

#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

using namespace nvcuda;

// ---- f32 tiled kernel (any float dtypes, loaded through float) ----
constexpr int kTile = 64, kTileK = 16, kGenericThreads = 256;

__global__ void __launch_bounds__(kGenericThreads)
gemm_generic_kernel(const void *a, int a_dtype, const void *b, int b_dtype, void *out, int out_dtype, gc_matmul_params p) {
  __shared__ float As[kTileK][kTile + 4];  // As[kk][i]
  __shared__ float Bs[kTileK][kTile + 4];  // Bs[kk][j]
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t i0 = int64_t(blockIdx.y) * kTile, j0 = int64_t(blockIdx.x) * kTile;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const int64_t a_base = z * p.a_batch_stride, b_base = z * p.b_batch_stride, out_base = z * p.m * p.n;
    float acc[4][4] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
      for (int r = 0; r < 4; r++) {
        int idx = threadIdx.x + r * kGenericThreads;
        // Consecutive threads walk the axis that is contiguous in memory.
        int ii = p.trans_a ? idx % kTile : idx / kTileK;
        int kk = p.trans_a ? idx / kTile : idx % kTileK;
        int64_t gi = i0 + ii, gk = k0 + kk;
        float v = 0.0f;
        if (gi < p.m && gk < p.k) v = load_f(a, a_dtype, a_base + (p.trans_a ? gk * p.m + gi : gi * p.k + gk));
        As[kk][ii] = v;
      }
      for (int r = 0; r < 4; r++) {
        int idx = threadIdx.x + r * kGenericThreads;
        int jj = p.trans_b ? idx / kTileK : idx % kTile;
        int kk = p.trans_b ? idx % kTileK : idx / kTile;
        int64_t gj = j0 + jj, gk = k0 + kk;
        float v = 0.0f;
        if (gj < p.n && gk < p.k) v = load_f(b, b_dtype, b_base + (p.trans_b ? gj * p.k + gk : gk * p.n + gj));
        Bs[kk][jj] = v;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kTileK; kk++) {
        float av[4], bv[4];
#pragma unroll
        for (int r = 0; r < 4; r++) av[r] = As[kk][ty + 16 * r];
#pragma unroll
        for (int c = 0; c < 4; c++) bv[c] = Bs[kk][tx + 16 * c];
#pragma unroll
        for (int r = 0; r < 4; r++)
#pragma unroll
          for (int c = 0; c < 4; c++) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
      }
      __syncthreads();
    }
    for (int r = 0; r < 4; r++) {
      for (int c = 0; c < 4; c++) {
        int64_t gi = i0 + ty + 16 * r, gj = j0 + tx + 16 * c;
        if (gi >= p.m || gj >= p.n) continue;
        int64_t o = out_base + gi * p.n + gj;
        float v = acc[r][c];
        if (p.accumulate) v += load_f(out, out_dtype, o);
        store_f(out, out_dtype, o, v);
      }
    }
  }
}

// ---- tensor-core kernel (bf16 or f16 inputs of the same type) ----
constexpr int kBM = 64, kBN = 64, kBK = 32, kWmmaThreads = 128;

template <typename T>
__device__ __forceinline__ T zero() {
  return T(0.0f);
}

template <typename T, bool TA, bool TB>
__global__ void __launch_bounds__(kWmmaThreads)
gemm_wmma_kernel(const T *a, const T *b, void *out, int out_dtype, gc_matmul_params p) {
  // Shared layouts follow memory: a transposed operand is kept as stored and read as col_major.
  constexpr int A_LD = TA ? kBM + 8 : kBK + 8, A_ROWS = TA ? kBK : kBM;
  constexpr int B_LD = TB ? kBK + 8 : kBN + 8, B_ROWS = TB ? kBN : kBK;
  constexpr int C_LD = kBN + 4;
  using LayoutA = typename std::conditional<TA, wmma::col_major, wmma::row_major>::type;
  using LayoutB = typename std::conditional<TB, wmma::col_major, wmma::row_major>::type;
  __shared__ __align__(32) T As[A_ROWS * A_LD];
  __shared__ __align__(32) T Bs[B_ROWS * B_LD];
  __shared__ __align__(32) float Cs[kBM * C_LD];

  const int warp = threadIdx.x / 32, wm = warp / 2, wn = warp % 2;
  const int64_t i0 = int64_t(blockIdx.y) * kBM, j0 = int64_t(blockIdx.x) * kBN;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const T *ab = a + z * p.a_batch_stride;
    const T *bb = b + z * p.b_batch_stride;
    const int64_t out_base = z * p.m * p.n;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int r = 0; r < 2; r++)
#pragma unroll
      for (int c = 0; c < 2; c++) wmma::fill_fragment(acc[r][c], 0.0f);

    for (int64_t k0 = 0; k0 < p.k; k0 += kBK) {
      for (int idx = threadIdx.x; idx < kBM * kBK; idx += kWmmaThreads) {
        int ii = TA ? idx % kBM : idx / kBK;
        int kk = TA ? idx / kBM : idx % kBK;
        int64_t gi = i0 + ii, gk = k0 + kk;
        T v = zero<T>();
        if (gi < p.m && gk < p.k) v = TA ? ab[gk * p.m + gi] : ab[gi * p.k + gk];
        if (TA) As[kk * A_LD + ii] = v;
        else As[ii * A_LD + kk] = v;
      }
      for (int idx = threadIdx.x; idx < kBK * kBN; idx += kWmmaThreads) {
        int jj = TB ? idx / kBK : idx % kBN;
        int kk = TB ? idx % kBK : idx / kBN;
        int64_t gj = j0 + jj, gk = k0 + kk;
        T v = zero<T>();
        if (gj < p.n && gk < p.k) v = TB ? bb[gj * p.k + gk] : bb[gk * p.n + gj];
        if (TB) Bs[jj * B_LD + kk] = v;
        else Bs[kk * B_LD + jj] = v;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, LayoutA> fa[2];
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, LayoutB> fb[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
          int row = wm * 32 + r * 16;
          wmma::load_matrix_sync(fa[r], TA ? As + kk * A_LD + row : As + row * A_LD + kk, A_LD);
        }
#pragma unroll
        for (int c = 0; c < 2; c++) {
          int col = wn * 32 + c * 16;
          wmma::load_matrix_sync(fb[c], TB ? Bs + col * B_LD + kk : Bs + kk * B_LD + col, B_LD);
        }
#pragma unroll
        for (int r = 0; r < 2; r++)
#pragma unroll
          for (int c = 0; c < 2; c++) wmma::mma_sync(acc[r][c], fa[r], fb[c], acc[r][c]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 2; r++)
#pragma unroll
      for (int c = 0; c < 2; c++)
        wmma::store_matrix_sync(Cs + (wm * 32 + r * 16) * C_LD + wn * 32 + c * 16, acc[r][c], C_LD, wmma::mem_row_major);
    __syncthreads();
    for (int idx = threadIdx.x; idx < kBM * kBN; idx += kWmmaThreads) {
      int ii = idx / kBN, jj = idx % kBN;
      int64_t gi = i0 + ii, gj = j0 + jj;
      if (gi >= p.m || gj >= p.n) continue;
      int64_t o = out_base + gi * p.n + gj;
      float v = Cs[ii * C_LD + jj];
      if (p.accumulate) v += load_f(out, out_dtype, o);
      store_f(out, out_dtype, o, v);
    }
    __syncthreads();
  }
}

template <typename T>
void launch_wmma(const gc_buf &a, const gc_buf &b, const gc_buf &out, const gc_matmul_params &p, dim3 grid) {
  const T *pa = static_cast<const T *>(a.data);
  const T *pb = static_cast<const T *>(b.data);
  cudaStream_t s = stream();
  if (!p.trans_a && !p.trans_b) gemm_wmma_kernel<T, false, false><<<grid, kWmmaThreads, 0, s>>>(pa, pb, out.data, out.dtype, p);
  else if (!p.trans_a && p.trans_b) gemm_wmma_kernel<T, false, true><<<grid, kWmmaThreads, 0, s>>>(pa, pb, out.data, out.dtype, p);
  else if (p.trans_a && !p.trans_b) gemm_wmma_kernel<T, true, false><<<grid, kWmmaThreads, 0, s>>>(pa, pb, out.data, out.dtype, p);
  else gemm_wmma_kernel<T, true, true><<<grid, kWmmaThreads, 0, s>>>(pa, pb, out.data, out.dtype, p);
}

int check_matmul(const gc_buf &a, const gc_buf &b, const gc_buf &out, const gc_matmul_params &p) {
  const char *where = "matmul";
  if (p.batch < 0 || p.m < 0 || p.n < 0 || p.k < 0)
    return fail(GC_ERR_ARGUMENT, "%s: batch, m, n, k must be >= 0, got %lld, %lld, %lld, %lld", where, (long long)p.batch,
                (long long)p.m, (long long)p.n, (long long)p.k);
  if (p.a_batch_stride < 0 || p.b_batch_stride < 0)
    return fail(GC_ERR_ARGUMENT, "%s: batch strides must be >= 0, got %lld and %lld", where, (long long)p.a_batch_stride,
                (long long)p.b_batch_stride);
  GC_TRY(check_float(where, "a", a));
  GC_TRY(check_float(where, "b", b));
  GC_TRY(check_float(where, "out", out));
  if (p.batch == 0) return GC_OK;
  GC_TRY(check_size(where, "a", a, (p.batch - 1) * p.a_batch_stride + p.m * p.k));
  GC_TRY(check_size(where, "b", b, (p.batch - 1) * p.b_batch_stride + p.k * p.n));
  return check_size(where, "out", out, p.batch * p.m * p.n);
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" int gc_matmul(gc_buf a, gc_buf b, gc_buf out, const gc_matmul_params *params) {
  GC_TRY(require_init("matmul"));
  gc_matmul_params p = *params;
  GC_TRY(check_matmul(a, b, out, p));
  if (p.batch * p.m * p.n == 0) return GC_OK;
  if (p.k == 0) {  // an empty sum: zeros, or nothing to add
    if (p.accumulate) return GC_OK;
    GC_CUDA(cudaMemsetAsync(out.data, 0, p.batch * p.m * p.n * dtype_bytes(out.dtype), stream()), "matmul (zero fill)");
    return GC_OK;
  }
  bool handled = false;
  GC_TRY(cublas_gemm(a, b, out, p, &handled));
  if (handled) return GC_OK;
  if ((p.m + kTile - 1) / kTile > 65535)  // grid y limit of our own kernels (cuBLAS had its chance)
    return fail(GC_ERR_ARGUMENT, "matmul: m = %lld is larger than our kernels' limit of %d rows", (long long)p.m, 65535 * kTile);
  unsigned batch_grid = static_cast<unsigned>(p.batch < 65535 ? p.batch : 65535);
  if (a.dtype == b.dtype && (a.dtype == GC_BF16 || a.dtype == GC_F16)) {
    dim3 grid(static_cast<unsigned>((p.n + kBN - 1) / kBN), static_cast<unsigned>((p.m + kBM - 1) / kBM), batch_grid);
    if (a.dtype == GC_BF16) launch_wmma<__nv_bfloat16>(a, b, out, p, grid);
    else launch_wmma<__half>(a, b, out, p, grid);
  } else {
    dim3 grid(static_cast<unsigned>((p.n + kTile - 1) / kTile), static_cast<unsigned>((p.m + kTile - 1) / kTile), batch_grid);
    gemm_generic_kernel<<<grid, kGenericThreads, 0, stream()>>>(a.data, a.dtype, b.data, b.dtype, out.data, out.dtype, p);
  }
  return launch_check("matmul");
}
