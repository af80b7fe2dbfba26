// Optional vendor libraries, loaded at run time with dlopen so that neither their headers nor
// their shared objects are needed to build or run the addon. We declare the few prototypes we
// call ourselves; the enum values below are the documented, stable ABI values.
//   cuBLAS:   cublasGemmStridedBatchedEx (f32 / bf16 / f16 inputs, f32 compute) for matmul.
//   cuSOLVER: cusolverDnSgesvdj (Jacobi SVD) for svd.
// When a library is missing, or GALORE_CUDA_NO_CUBLAS / GALORE_CUDA_NO_CUSOLVER is set, our own
// kernels serve.
#include <dlfcn.h>
#include <library_types.h>

#include <cstdio>
#include <cstdlib>

#include "internal.h"

namespace {

// --- cuBLAS ---
using cublasHandle = void *;
enum : int { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_COMPUTE_32F = 68, CUBLAS_GEMM_DEFAULT = -1 };
using cublasCreate_t = int (*)(cublasHandle *);
using cublasDestroy_t = int (*)(cublasHandle);
using cublasSetStream_t = int (*)(cublasHandle, cudaStream_t);
using cublasGemmStridedBatchedEx_t = int (*)(cublasHandle, int transa, int transb, int m, int n, int k, const void *alpha,
                                             const void *A, cudaDataType_t Atype, int lda, long long strideA, const void *B,
                                             cudaDataType_t Btype, int ldb, long long strideB, const void *beta, void *C,
                                             cudaDataType_t Ctype, int ldc, long long strideC, int batchCount,
                                             int computeType, int algo);

struct Cublas {
  void *lib = nullptr;
  cublasHandle handle = nullptr;
  cublasDestroy_t destroy = nullptr;
  cublasGemmStridedBatchedEx_t gemm = nullptr;
  char path[256] = "";
};
Cublas g_cublas;

// --- cuSOLVER ---
using cusolverHandle = void *;
using gesvdjInfo = void *;
enum : int { CUSOLVER_STATUS_SUCCESS = 0, CUSOLVER_EIG_MODE_VECTOR = 1 };
using cusolverDnCreate_t = int (*)(cusolverHandle *);
using cusolverDnDestroy_t = int (*)(cusolverHandle);
using cusolverDnSetStream_t = int (*)(cusolverHandle, cudaStream_t);
using cusolverDnCreateGesvdjInfo_t = int (*)(gesvdjInfo *);
using cusolverDnDestroyGesvdjInfo_t = int (*)(gesvdjInfo);
using cusolverDnXgesvdjSetTolerance_t = int (*)(gesvdjInfo, double);
using cusolverDnXgesvdjSetMaxSweeps_t = int (*)(gesvdjInfo, int);
using cusolverDnSgesvdj_bufferSize_t = int (*)(cusolverHandle, int jobz, int econ, int m, int n, const float *A, int lda,
                                               const float *S, const float *U, int ldu, const float *V, int ldv, int *lwork,
                                               gesvdjInfo params);
using cusolverDnSgesvdj_t = int (*)(cusolverHandle, int jobz, int econ, int m, int n, float *A, int lda, float *S, float *U,
                                    int ldu, float *V, int ldv, float *work, int lwork, int *info, gesvdjInfo params);

struct Cusolver {
  void *lib = nullptr;
  cusolverHandle handle = nullptr;
  gesvdjInfo params = nullptr;  // kept for the library's lifetime: gesvdj may still run on the stream
  cusolverDnDestroy_t destroy = nullptr;
  cusolverDnCreateGesvdjInfo_t create_info = nullptr;
  cusolverDnDestroyGesvdjInfo_t destroy_info = nullptr;
  cusolverDnXgesvdjSetTolerance_t set_tolerance = nullptr;
  cusolverDnXgesvdjSetMaxSweeps_t set_max_sweeps = nullptr;
  cusolverDnSgesvdj_bufferSize_t buffer_size = nullptr;
  cusolverDnSgesvdj_t gesvdj = nullptr;
  char path[256] = "";
};
Cusolver g_cusolver;

// Tries each soname in turn (CUDA 13 first, then the unversioned and CUDA 12 names).
void *open_first(const char *const *names, char *path_out, size_t path_len) {
  for (const char *const *name = names; *name; name++) {
    void *lib = dlopen(*name, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      std::snprintf(path_out, path_len, "%s", *name);
      return lib;
    }
  }
  return nullptr;
}

template <typename F>
bool bind(void *lib, const char *symbol, F *out) {
  *out = reinterpret_cast<F>(dlsym(lib, symbol));
  return *out != nullptr;
}

bool env_set(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && *v != '0';
}

void load_cublas() {
  if (env_set("GALORE_CUDA_NO_CUBLAS")) return;
  static const char *const names[] = {"libcublas.so.13", "libcublas.so", "libcublas.so.12", nullptr};
  Cublas c;
  c.lib = open_first(names, c.path, sizeof c.path);
  if (!c.lib) return;
  cublasCreate_t create;
  cublasSetStream_t set_stream;
  bool ok = bind(c.lib, "cublasCreate_v2", &create) && bind(c.lib, "cublasDestroy_v2", &c.destroy) &&
            bind(c.lib, "cublasSetStream_v2", &set_stream) && bind(c.lib, "cublasGemmStridedBatchedEx", &c.gemm);
  if (ok) ok = create(&c.handle) == CUBLAS_STATUS_SUCCESS;
  if (ok) ok = set_stream(c.handle, gc::stream()) == CUBLAS_STATUS_SUCCESS;
  if (!ok) {
    if (c.handle) c.destroy(c.handle);
    dlclose(c.lib);
    return;
  }
  g_cublas = c;
}

void load_cusolver() {
  if (env_set("GALORE_CUDA_NO_CUSOLVER")) return;
  static const char *const names[] = {"libcusolver.so.12", "libcusolver.so", "libcusolver.so.11", nullptr};
  Cusolver c;
  c.lib = open_first(names, c.path, sizeof c.path);
  if (!c.lib) return;
  cusolverDnCreate_t create;
  cusolverDnSetStream_t set_stream;
  bool ok = bind(c.lib, "cusolverDnCreate", &create) && bind(c.lib, "cusolverDnDestroy", &c.destroy) &&
            bind(c.lib, "cusolverDnSetStream", &set_stream) &&
            bind(c.lib, "cusolverDnCreateGesvdjInfo", &c.create_info) &&
            bind(c.lib, "cusolverDnDestroyGesvdjInfo", &c.destroy_info) &&
            bind(c.lib, "cusolverDnXgesvdjSetTolerance", &c.set_tolerance) &&
            bind(c.lib, "cusolverDnXgesvdjSetMaxSweeps", &c.set_max_sweeps) &&
            bind(c.lib, "cusolverDnSgesvdj_bufferSize", &c.buffer_size) && bind(c.lib, "cusolverDnSgesvdj", &c.gesvdj);
  if (ok) ok = create(&c.handle) == CUSOLVER_STATUS_SUCCESS;
  if (ok) ok = set_stream(c.handle, gc::stream()) == CUSOLVER_STATUS_SUCCESS;
  if (ok) ok = c.create_info(&c.params) == CUSOLVER_STATUS_SUCCESS;
  if (ok) ok = c.set_tolerance(c.params, 1e-7) == CUSOLVER_STATUS_SUCCESS;
  if (ok) ok = c.set_max_sweeps(c.params, 100) == CUSOLVER_STATUS_SUCCESS;
  if (!ok) {
    if (c.params) c.destroy_info(c.params);
    if (c.handle) c.destroy(c.handle);
    dlclose(c.lib);
    return;
  }
  g_cusolver = c;
}

bool fits_int(int64_t v) { return v >= 0 && v <= 0x7fffffffLL; }

cudaDataType_t blas_type(gc_dtype d) {
  switch (d) {
    case GC_BF16: return CUDA_R_16BF;
    case GC_F16: return CUDA_R_16F;
    default: return CUDA_R_32F;
  }
}

}  // namespace

namespace gc {

int load_libraries() {
  load_cublas();
  load_cusolver();
  return GC_OK;
}

void unload_libraries() {
  if (g_cublas.lib) {
    g_cublas.destroy(g_cublas.handle);
    dlclose(g_cublas.lib);
  }
  if (g_cusolver.lib) {
    g_cusolver.destroy_info(g_cusolver.params);
    g_cusolver.destroy(g_cusolver.handle);
    dlclose(g_cusolver.lib);
  }
  g_cublas = Cublas{};
  g_cusolver = Cusolver{};
}

// Row-major out (m x n) = op(a) @ op(b) is column-major out^T = op(b)^T @ op(a)^T, so cuBLAS gets
// b as its first operand and a as its second, with the sizes swapped.
int cublas_gemm(const gc_buf &a, const gc_buf &b, const gc_buf &out, const gc_matmul_params &p, bool *handled) {
  *handled = false;
  if (!g_cublas.lib || !cublas_enabled()) return GC_OK;
  if (a.dtype != b.dtype || !is_float(a.dtype)) return GC_OK;
  if (out.dtype != a.dtype && out.dtype != GC_F32) return GC_OK;
  if (!fits_int(p.m) || !fits_int(p.n) || !fits_int(p.k) || !fits_int(p.batch)) return GC_OK;
  const float alpha = 1.0f, beta = p.accumulate ? 1.0f : 0.0f;
  int lda = static_cast<int>(p.trans_b ? p.k : p.n);
  int ldb = static_cast<int>(p.trans_a ? p.m : p.k);
  int status = g_cublas.gemm(g_cublas.handle, p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                             int(p.n), int(p.m), int(p.k), &alpha, b.data, blas_type(b.dtype), lda, p.b_batch_stride, a.data,
                             blas_type(a.dtype), ldb, p.a_batch_stride, &beta, out.data, blas_type(out.dtype), int(p.n),
                             p.m * p.n, int(p.batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (status != CUBLAS_STATUS_SUCCESS) return fail(GC_ERR_LIBRARY, "matmul: cublasGemmStridedBatchedEx returned status %d", status);
  *handled = true;
  return GC_OK;
}

// Thin SVD of a column-major rows x cols matrix (destroyed): u is rows x k, v is cols x k, both
// column-major, s descending.
int cusolver_gesvdj(float *a, int rows, int cols, float *s, float *u, float *v, bool *handled) {
  *handled = false;
  if (!g_cusolver.lib || !cusolver_enabled()) return GC_OK;
  gesvdjInfo info = g_cusolver.params;
  int lwork = 0;
  int status = g_cusolver.buffer_size(g_cusolver.handle, CUSOLVER_EIG_MODE_VECTOR, 1, rows, cols, a, rows, s, u, rows, v,
                                      cols, &lwork, info);
  if (status != CUSOLVER_STATUS_SUCCESS)
    return fail(GC_ERR_LIBRARY, "svd: cusolverDnSgesvdj_bufferSize returned status %d", status);
  Workspace work, dev_info;
  GC_TRY(work.alloc(size_t(lwork > 0 ? lwork : 1) * sizeof(float)));
  GC_TRY(dev_info.alloc(sizeof(int)));
  status = g_cusolver.gesvdj(g_cusolver.handle, CUSOLVER_EIG_MODE_VECTOR, 1, rows, cols, a, rows, s, u, rows, v, cols,
                             work.as<float>(), lwork, dev_info.as<int>(), info);
  if (status != CUSOLVER_STATUS_SUCCESS) return fail(GC_ERR_LIBRARY, "svd: cusolverDnSgesvdj returned status %d", status);
  *handled = true;
  return GC_OK;
}

}  // namespace gc

extern "C" int gc_library_info_get(gc_library_info *info) {
  *info = gc_library_info{};
  info->cublas_loaded = g_cublas.lib != nullptr;
  info->cusolver_loaded = g_cusolver.lib != nullptr;
  std::snprintf(info->cublas_path, sizeof info->cublas_path, "%s", g_cublas.path);
  std::snprintf(info->cusolver_path, sizeof info->cusolver_path, "%s", g_cusolver.path);
  return GC_OK;
}
