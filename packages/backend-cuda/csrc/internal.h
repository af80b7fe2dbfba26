// Host-side helpers shared by every translation unit of the C ABI layer: error reporting,
// argument checks, the stream, and a scoped workspace from the caching allocator.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "galore_cuda.h"

namespace gc {

// Sets the thread's last error message (printf-style) and returns `status`.
int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cuda_fail(cudaError_t err, const char *what);

bool initialized();
cudaStream_t stream();
// Two device ints kernels use to flag bad data: [0] = a GC_FLAG_* code, [1] = the bad value.
int *error_flag();
enum KernelFlag { FLAG_NONE = 0, FLAG_GATHER_ID = 1, FLAG_SCATTER_ID = 2, FLAG_CE_TARGET = 3 };
// Turns a nonzero flag read back from the device into an error (and clears the flag).
int report_kernel_flag(const int flag[2]);

bool cublas_enabled();
bool cusolver_enabled();

const char *dtype_name(gc_dtype dtype);
size_t dtype_bytes(gc_dtype dtype);
inline bool is_float(gc_dtype d) { return d == GC_F32 || d == GC_BF16 || d == GC_F16; }

// Argument checks: each returns 0 or sets a message naming the kernel, the argument, what was
// expected and what came.
int require_init(const char *where);
int check_size(const char *where, const char *name, const gc_buf &b, int64_t needed);
int check_float(const char *where, const char *name, const gc_buf &b);
int check_dtype(const char *where, const char *name, const gc_buf &b, gc_dtype expected);
int check_positive(const char *where, const char *name, int64_t value);
// After a kernel launch: reports launch errors (bad configuration, no kernel image for the GPU).
int launch_check(const char *where);

// Device scratch from the caching allocator, returned when the scope ends. Stream ordering makes
// the immediate reuse safe: later kernels run after the ones that used the block.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace &) = delete;
  Workspace &operator=(const Workspace &) = delete;
  ~Workspace();
  int alloc(size_t bytes);
  template <typename T>
  T *as() const { return static_cast<T *>(ptr_); }
  gc_buf buf(gc_dtype dtype, int64_t size) const { return gc_buf{ptr_, dtype, size}; }

 private:
  void *ptr_ = nullptr;
};

// Grid size for a 1-D launch, capped so grid-stride loops cover the rest.
inline unsigned grid_for(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65535LL * 16) blocks = 65535LL * 16;
  return static_cast<unsigned>(blocks);
}

// Internal entry points shared across files.
int cublas_gemm(const gc_buf &a, const gc_buf &b, const gc_buf &out, const gc_matmul_params &p, bool *handled);
int cusolver_gesvdj(float *a_colmajor, int rows, int cols, float *s, float *u, float *v, bool *handled);
int load_libraries();
void unload_libraries();
int allocator_release_all();
void allocator_shutdown();  // frees every block, live ones too

}  // namespace gc

#define GC_TRY(expr)               \
  do {                             \
    int gc_status_ = (expr);       \
    if (gc_status_) return gc_status_; \
  } while (0)

#define GC_CUDA(expr, what)                                      \
  do {                                                           \
    cudaError_t gc_err_ = (expr);                                \
    if (gc_err_ != cudaSuccess) return gc::cuda_fail(gc_err_, what); \
  } while (0)
