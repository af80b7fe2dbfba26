// Device-side helpers: loading and storing any gc_dtype as float (or double, for exact integer
// paths), and block-wide reductions. The dtype is a kernel argument, so the switch is uniform
// across a warp and costs little next to the memory access.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "galore_cuda.h"

namespace gc {

__device__ __forceinline__ float load_f(const void *p, int dtype, int64_t i) {
  switch (dtype) {
    case GC_F32: return static_cast<const float *>(p)[i];
    case GC_BF16: return __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]);
    case GC_F16: return __half2float(static_cast<const __half *>(p)[i]);
    case GC_I32: return static_cast<float>(static_cast<const int32_t *>(p)[i]);
    default: return static_cast<float>(static_cast<const uint8_t *>(p)[i]);
  }
}

// Exact for every dtype (int32 included), for casts, copies and integer arithmetic.
__device__ __forceinline__ double load_d(const void *p, int dtype, int64_t i) {
  if (dtype == GC_I32) return static_cast<double>(static_cast<const int32_t *>(p)[i]);
  return static_cast<double>(load_f(p, dtype, i));
}

// Float to integer truncates toward zero and wraps modulo 2^32 / 2^8, as storing a JavaScript
// number into an Int32Array / Uint8Array does (NaN becomes 0).
__device__ __forceinline__ int32_t to_int32(double v) {
  if (!isfinite(v)) return 0;
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(fmod(trunc(v), 4294967296.0)))));
}

__device__ __forceinline__ void store_f(void *p, int dtype, int64_t i, float v) {
  switch (dtype) {
    case GC_F32: static_cast<float *>(p)[i] = v; break;
    case GC_BF16: static_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16_rn(v); break;
    case GC_F16: static_cast<__half *>(p)[i] = __float2half_rn(v); break;
    case GC_I32: static_cast<int32_t *>(p)[i] = to_int32(v); break;
    default: static_cast<uint8_t *>(p)[i] = static_cast<uint8_t>(to_int32(v)); break;
  }
}

// Doubles reach 16-bit floats through float32, as the host's conversions do (dtype.ts).
__device__ __forceinline__ void store_d(void *p, int dtype, int64_t i, double v) {
  switch (dtype) {
    case GC_I32: static_cast<int32_t *>(p)[i] = to_int32(v); break;
    case GC_U8: static_cast<uint8_t *>(p)[i] = static_cast<uint8_t>(to_int32(v)); break;
    default: store_f(p, dtype, i, __double2float_rn(v)); break;
  }
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum; every thread gets the result. blockDim.x must be a multiple of 32 (<= 1024).
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T partial[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T total = lane < warps ? partial[lane] : T(0);
  return warp_sum(total);
}

// Block-wide max (NaN-free inputs; callers handle NaN separately).
__device__ inline float block_max(float v) {
  __shared__ float partial[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  float total = lane < warps ? partial[lane] : -INFINITY;
  return warp_max(total);
}

// Records the first bad value a kernel saw; the host reports it at the next sync or read.
__device__ __forceinline__ void flag_error(int *flag, int code, int value) {
  if (atomicCAS(flag, 0, code) == 0) flag[1] = value;
}

}  // namespace gc
