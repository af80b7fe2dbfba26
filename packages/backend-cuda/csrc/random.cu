// Philox 4x32-10 random numbers, bit-for-bit the stream core's random.ts defines: element i of a
// call with offset o reads lane i % 4 of block o + i / 4 (counter [lo32, hi32, 0, 0], key = seed).
// The reference computes in float64 and rounds when storing, so we do the same with explicitly
// rounded double operations (__dadd_rn, __dmul_rn), which the compiler may never fuse into FMAs.
#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256;
constexpr uint32_t M0 = 0xd2511f53u, M1 = 0xcd9e8d57u, W0 = 0x9e3779b9u, W1 = 0xbb67ae85u;
constexpr double kTwoPowM24 = 5.9604644775390625e-8;  // 2^-24
constexpr double kTwoPi = 6.283185307179586;           // 2 * Math.PI, rounded as JavaScript does

__device__ __forceinline__ uint4 philox(uint64_t block, uint32_t k0, uint32_t k1) {
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32), c2 = 0, c3 = 0;
#pragma unroll
  for (int round = 0; round < 10; round++) {
    uint32_t hi0 = __umulhi(M0, c0), lo0 = M0 * c0;
    uint32_t hi1 = __umulhi(M1, c2), lo1 = M1 * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  return make_uint4(c0, c1, c2, c3);
}

// One thread per Philox block: up to four outputs.
__global__ void random_kernel(void *out, int dtype, int64_t n, int normal, uint32_t k0, uint32_t k1, uint64_t offset, double a,
                              double b) {
  int64_t blocks = (n + 3) / 4;
  for (int64_t blk = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; blk < blocks; blk += int64_t(gridDim.x) * blockDim.x) {
    uint4 w = philox(offset + static_cast<uint64_t>(blk), k0, k1);
    uint32_t words[4] = {w.x, w.y, w.z, w.w};
    int64_t base = blk * 4;
    if (!normal) {
      double range = __dsub_rn(b, a);
      for (int lane = 0; lane < 4 && base + lane < n; lane++) {
        double u = static_cast<double>(words[lane] >> 8) * kTwoPowM24;  // exact
        store_d(out, dtype, base + lane, __dadd_rn(a, __dmul_rn(range, u)));
      }
    } else {
      for (int pair = 0; pair < 2; pair++) {
        int64_t i = base + pair * 2;
        if (i >= n) break;
        double u0 = (static_cast<double>(words[pair * 2] >> 8) + 0.5) * kTwoPowM24;  // exact
        double u1 = (static_cast<double>(words[pair * 2 + 1] >> 8) + 0.5) * kTwoPowM24;
        double r = sqrt(__dmul_rn(-2.0, log(u0)));
        double angle = __dmul_rn(kTwoPi, u1);
        double br = __dmul_rn(b, r);
        store_d(out, dtype, i, __dadd_rn(a, __dmul_rn(br, cos(angle))));
        if (i + 1 < n) store_d(out, dtype, i + 1, __dadd_rn(a, __dmul_rn(br, sin(angle))));
      }
    }
  }
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" int gc_random(gc_buf out, int distribution, uint32_t seed_lo, uint32_t seed_hi, uint64_t offset, double a, double b) {
  GC_TRY(require_init("random"));
  GC_TRY(check_float("random", "out", out));
  GC_TRY(check_size("random", "out", out, 0));
  if (distribution != 0 && distribution != 1)
    return fail(GC_ERR_ARGUMENT, "random: distribution code %d is neither 0 (uniform) nor 1 (normal)", distribution);
  if (out.size == 0) return GC_OK;
  int64_t blocks = (out.size + 3) / 4;
  random_kernel<<<grid_for(blocks, kThreads), kThreads, 0, stream()>>>(out.data, out.dtype, out.size, distribution, seed_lo, seed_hi,
                                                                        offset, a, b);
  return launch_check("random");
}
