// Thin SVD, k = min(m, n): u (m x k), s (k, descending), vt (k x n).
//
// With cuSOLVER loaded: cusolverDnSgesvdj (Jacobi SVD) on a float32 copy.
// Otherwise our own one-sided (Hestenes) Jacobi SVD on the device, in float32 with double dot
// products. It works on W, the k x L matrix whose rows are the columns of A (m >= n) or the rows
// of A (m < n), and rotates pairs of rows until all are mutually orthogonal; the same rotations
// applied to the k x k identity give the other factor. Each launch handles k/2 disjoint pairs
// (round-robin ordering), one pair per block, so a sweep is k - 1 launches. Afterwards the row
// norms are the singular values; rows are sorted by them on the host, normalised, and rows with a
// (numerically) zero singular value are replaced by an orthonormal completion, so u and vt are
// orthonormal and finite for any finite input.
//
// Sign convention (the CPU reference's): the largest-magnitude entry of each column of u is
// positive (the first such entry on ties), with the matching row of vt flipped.
#include <algorithm>
#include <cfloat>
#include <numeric>
#include <vector>

#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxSweeps = 40;
constexpr double kTolerance = 2e-6;   // |w_i . w_j| <= tol * |w_i| |w_j| counts as orthogonal
constexpr float kRankCutoff = 1e-6f;  // sigma <= cutoff * sigma_max counts as zero

// Round-robin ("circle method") pairing of K (even) slots: slot 0 stays, the rest rotate.
__device__ __forceinline__ int slot_index(int pos, int round, int K) { return pos == 0 ? 0 : 1 + (pos - 1 + round) % (K - 1); }

__global__ void jacobi_round_kernel(float *W, float *Q, int k, int64_t L, int K, int round, int *rotated) {
  const int i = slot_index(blockIdx.x, round, K), j = slot_index(K - 1 - blockIdx.x, round, K);
  if (i >= k || j >= k) return;  // the dummy slot when k is odd
  float *wi = W + int64_t(i) * L, *wj = W + int64_t(j) * L;
  double alpha = 0, beta = 0, gamma = 0;
  for (int64_t t = threadIdx.x; t < L; t += blockDim.x) {
    double a = wi[t], b = wj[t];
    alpha += a * a;
    beta += b * b;
    gamma += a * b;
  }
  alpha = block_sum(alpha);
  beta = block_sum(beta);
  gamma = block_sum(gamma);
  if (alpha == 0.0 || beta == 0.0 || fabs(gamma) <= kTolerance * sqrt(alpha * beta)) return;
  const double zeta = (beta - alpha) / (2.0 * gamma);
  const double tangent = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
  const float c = static_cast<float>(1.0 / sqrt(1.0 + tangent * tangent));
  const float s = static_cast<float>(tangent) * c;
  for (int64_t t = threadIdx.x; t < L; t += blockDim.x) {
    float a = wi[t], b = wj[t];
    wi[t] = c * a - s * b;
    wj[t] = s * a + c * b;
  }
  float *qi = Q + int64_t(i) * k, *qj = Q + int64_t(j) * k;
  for (int t = threadIdx.x; t < k; t += blockDim.x) {
    float a = qi[t], b = qj[t];
    qi[t] = c * a - s * b;
    qj[t] = s * a + c * b;
  }
  if (threadIdx.x == 0) *rotated = 1;
}

// dst (cols x rows) = src (rows x cols)^T, f32 to f32.
__global__ void transpose_kernel(const float *src, float *dst, int64_t rows, int64_t cols) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * cols; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = e / cols, c = e % cols;
    dst[c * rows + r] = src[e];
  }
}

__global__ void identity_kernel(float *Q, int k) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < int64_t(k) * k; e += int64_t(gridDim.x) * blockDim.x)
    Q[e] = (e / k == e % k) ? 1.0f : 0.0f;
}

// out[r] = sum_t A[r, t] * x[t] for a rows x len matrix (one block per row).
__global__ void rows_dot_kernel(const float *A, const float *x, float *out, int64_t rows, int64_t len) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double acc = 0;
    for (int64_t t = threadIdx.x; t < len; t += blockDim.x) acc += double(A[r * len + t]) * x[t];
    acc = block_sum(acc);
    if (threadIdx.x == 0) out[r] = static_cast<float>(acc);
  }
}

// out[r] = |A[r]|^2 for a rows x len matrix (one block per row).
__global__ void row_sumsq_kernel(const float *A, float *out, int64_t rows, int64_t len) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double acc = 0;
    for (int64_t t = threadIdx.x; t < len; t += blockDim.x) acc += double(A[r * len + t]) * A[r * len + t];
    acc = block_sum(acc);
    if (threadIdx.x == 0) out[r] = static_cast<float>(acc);
  }
}

// x[t] -= sum_r coef[r] * A[r, t]
__global__ void subtract_projection_kernel(const float *A, const float *coef, float *x, int64_t rows, int64_t len) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < len; t += int64_t(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (int64_t r = 0; r < rows; r++) acc += double(coef[r]) * A[r * len + t];
    x[t] -= static_cast<float>(acc);
  }
}

// X[c] = W[perm[c]] * scale[c] (scale 0 leaves a zero row to be completed later).
__global__ void normalize_rows_kernel(const float *W, const int32_t *perm, const float *scale, float *X, int k, int64_t L) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < int64_t(k) * L; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = e / L, t = e % L;
    X[e] = W[int64_t(perm[c]) * L + t] * scale[c];
  }
}

// Column sums of squares of X: how much of each unit vector the rows already span.
__global__ void column_weight_kernel(const float *X, float *weight, int k, int64_t L) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < L; t += int64_t(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int r = 0; r < k; r++) acc += X[int64_t(r) * L + t] * X[int64_t(r) * L + t];
    weight[t] = acc;
  }
}

__global__ void set_row_kernel(float *X, int64_t row, const float *x, float inv_norm, float *weight, int64_t L) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < L; t += int64_t(gridDim.x) * blockDim.x) {
    float v = x[t] * inv_norm;
    X[row * L + t] = v;
    weight[t] += v * v;
  }
}

// dst = rows of src (rows x len) in `perm` order (identity when perm is null), written as
// dst[c, t] or, transposed, dst[t, c]; converted to dst's dtype.
__global__ void write_rows_kernel(const float *src, const int32_t *perm, int rows, int64_t len, void *dst, int dst_dtype, bool transpose) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < int64_t(rows) * len; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = e / len, t = e % len;
    float v = src[int64_t(perm ? perm[c] : c) * len + t];
    store_f(dst, dst_dtype, transpose ? t * rows + c : e, v);
  }
}

// One block per column c of u (m x k): find its largest-magnitude entry and, when that entry is
// negative, negate column c of u and row c of vt (exact in every float dtype).
__global__ void sign_convention_kernel(void *u, int u_dtype, void *vt, int vt_dtype, int64_t m, int64_t k, int64_t n) {
  __shared__ float best_abs[kThreads];
  __shared__ int64_t best_row[kThreads];
  for (int64_t c = blockIdx.x; c < k; c += gridDim.x) {
    float ba = -1.0f;
    int64_t br = m;
    for (int64_t r = threadIdx.x; r < m; r += blockDim.x) {
      float a = fabsf(load_f(u, u_dtype, r * k + c));
      if (a > ba) ba = a, br = r;  // rows rise within a thread, so ties keep the first
    }
    best_abs[threadIdx.x] = ba;
    best_row[threadIdx.x] = br;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
      if (threadIdx.x < stride) {
        float oa = best_abs[threadIdx.x + stride];
        int64_t orow = best_row[threadIdx.x + stride];
        if (oa > best_abs[threadIdx.x] || (oa == best_abs[threadIdx.x] && orow < best_row[threadIdx.x])) {
          best_abs[threadIdx.x] = oa;
          best_row[threadIdx.x] = orow;
        }
      }
      __syncthreads();
    }
    const bool flip = best_row[0] < m && load_f(u, u_dtype, best_row[0] * k + c) < 0.0f;
    __syncthreads();
    if (!flip) continue;
    for (int64_t r = threadIdx.x; r < m; r += blockDim.x) store_f(u, u_dtype, r * k + c, -load_f(u, u_dtype, r * k + c));
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) store_f(vt, vt_dtype, c * n + j, -load_f(vt, vt_dtype, c * n + j));
  }
}

int apply_sign_convention(const gc_buf &u, const gc_buf &vt, int64_t m, int64_t k, int64_t n) {
  sign_convention_kernel<<<static_cast<unsigned>(std::min<int64_t>(k, 65535)), kThreads, 0, stream()>>>(u.data, u.dtype, vt.data,
                                                                                                         vt.dtype, m, k, n);
  return launch_check("svd (sign convention)");
}

int upload_vector(const void *host, size_t bytes, Workspace *ws) {
  GC_TRY(ws->alloc(bytes));
  return gc_upload(ws->as<void>(), host, bytes);
}

// Replaces each zero row of X (listed in `missing`) by a unit vector orthogonalised against all
// rows (twice, for stability). The unit vector is the one the rows span least, so its remainder
// is never small.
int complete_rows(float *X, int k, int64_t L, const std::vector<int> &missing) {
  if (missing.empty()) return GC_OK;
  Workspace weight_ws, x_ws, coef_ws, norm_ws;
  GC_TRY(weight_ws.alloc(L * sizeof(float)));
  GC_TRY(x_ws.alloc(L * sizeof(float)));
  GC_TRY(coef_ws.alloc(size_t(k) * sizeof(float)));
  GC_TRY(norm_ws.alloc(sizeof(float)));
  float *weight = weight_ws.as<float>(), *x = x_ws.as<float>(), *coef = coef_ws.as<float>(), *norm = norm_ws.as<float>();
  column_weight_kernel<<<grid_for(L, kThreads), kThreads, 0, stream()>>>(X, weight, k, L);
  std::vector<float> host_weight(L);
  for (int row : missing) {
    GC_TRY(gc_download(host_weight.data(), weight, L * sizeof(float)));
    int64_t best = std::min_element(host_weight.begin(), host_weight.end()) - host_weight.begin();
    GC_CUDA(cudaMemsetAsync(x, 0, L * sizeof(float), stream()), "svd completion");
    const float one = 1.0f;
    GC_TRY(gc_upload(x + best, &one, sizeof one));
    for (int pass = 0; pass < 2; pass++) {
      rows_dot_kernel<<<std::min(k, 65535), kThreads, 0, stream()>>>(X, x, coef, k, L);
      subtract_projection_kernel<<<grid_for(L, kThreads), kThreads, 0, stream()>>>(X, coef, x, k, L);
    }
    row_sumsq_kernel<<<1, kThreads, 0, stream()>>>(x, norm, 1, L);
    float norm2 = 0;
    GC_TRY(gc_download(&norm2, norm, sizeof norm2));
    if (!(norm2 > 0)) return fail(GC_ERR_KERNEL, "svd: could not complete the orthonormal basis (row %d)", row);
    set_row_kernel<<<grid_for(L, kThreads), kThreads, 0, stream()>>>(X, row, x, 1.0f / sqrtf(norm2), weight, L);
  }
  return launch_check("svd (completion)");
}

int jacobi_svd(float *W, int k, int64_t L, float *Q, const gc_buf &u, const gc_buf &s, const gc_buf &vt, bool tall) {
  identity_kernel<<<grid_for(int64_t(k) * k, kThreads), kThreads, 0, stream()>>>(Q, k);
  Workspace flag_ws;
  GC_TRY(flag_ws.alloc(sizeof(int)));
  int *rotated = flag_ws.as<int>();
  const int K = k + (k & 1);
  for (int sweep = 0; sweep < kMaxSweeps && k > 1; sweep++) {
    GC_CUDA(cudaMemsetAsync(rotated, 0, sizeof(int), stream()), "svd (sweep flag)");
    for (int round = 0; round < K - 1; round++) jacobi_round_kernel<<<K / 2, kThreads, 0, stream()>>>(W, Q, k, L, K, round, rotated);
    GC_TRY(launch_check("svd (Jacobi sweep)"));
    int any = 0;
    GC_TRY(gc_download(&any, rotated, sizeof any));
    if (!any) break;
  }

  // Singular values are the row norms; sort them descending on the host.
  std::vector<float> sigma(k);
  {
    Workspace sq_ws;
    GC_TRY(sq_ws.alloc(size_t(k) * sizeof(float)));
    row_sumsq_kernel<<<std::min(k, 65535), kThreads, 0, stream()>>>(W, sq_ws.as<float>(), k, L);
    GC_TRY(launch_check("svd (norms)"));
    GC_TRY(gc_download(sigma.data(), sq_ws.as<float>(), size_t(k) * sizeof(float)));
  }
  for (float &v : sigma) v = sqrtf(std::max(v, 0.0f));
  std::vector<int32_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return sigma[a] > sigma[b]; });
  const float cutoff = sigma[perm[0]] * kRankCutoff;
  std::vector<float> sorted(k), scale(k);
  std::vector<int> missing;
  for (int c = 0; c < k; c++) {
    sorted[c] = sigma[perm[c]];
    bool zero = !(sorted[c] > cutoff) || sorted[c] == 0.0f;
    scale[c] = zero ? 0.0f : 1.0f / sorted[c];
    if (zero) missing.push_back(c);
  }
  Workspace perm_ws, scale_ws, sorted_ws, X_ws;
  GC_TRY(upload_vector(perm.data(), perm.size() * sizeof(int32_t), &perm_ws));
  GC_TRY(upload_vector(scale.data(), scale.size() * sizeof(float), &scale_ws));
  GC_TRY(upload_vector(sorted.data(), sorted.size() * sizeof(float), &sorted_ws));
  GC_TRY(X_ws.alloc(size_t(k) * L * sizeof(float)));
  float *X = X_ws.as<float>();
  normalize_rows_kernel<<<grid_for(int64_t(k) * L, kThreads), kThreads, 0, stream()>>>(W, perm_ws.as<int32_t>(), scale_ws.as<float>(), X, k, L);
  GC_TRY(complete_rows(X, k, L, missing));

  GC_TRY(gc_cast(sorted_ws.buf(GC_F32, k), s));
  // m >= n: rows of X are u's columns and rows of Q are vt's rows; m < n: the other way round.
  const gc_buf &x_out = tall ? u : vt;
  const gc_buf &q_out = tall ? vt : u;
  write_rows_kernel<<<grid_for(int64_t(k) * L, kThreads), kThreads, 0, stream()>>>(X, nullptr, k, L, x_out.data, x_out.dtype, tall);
  write_rows_kernel<<<grid_for(int64_t(k) * k, kThreads), kThreads, 0, stream()>>>(Q, perm_ws.as<int32_t>(), k, k, q_out.data, q_out.dtype,
                                                                                    !tall);
  return launch_check("svd (outputs)");
}

// cuSOLVER works column-major: row-major A (m x n) is column-major B = A^T (n x m). From
// B = U_B S V_B^T: vt = U_B (its column-major n x k layout is row-major k x n) and u = V_B^T read
// back transposed.
int gesvdj_svd(const gc_buf &a, int64_t m, int64_t n, const gc_buf &u, const gc_buf &s, const gc_buf &vt, bool *handled) {
  *handled = false;
  if (m > 0x7fffffff || n > 0x7fffffff) return GC_OK;
  const int64_t k = std::min(m, n);
  Workspace copy_ws, s_ws, ub_ws, vb_ws;
  GC_TRY(copy_ws.alloc(size_t(m) * n * sizeof(float)));
  GC_TRY(s_ws.alloc(size_t(k) * sizeof(float)));
  GC_TRY(ub_ws.alloc(size_t(n) * k * sizeof(float)));
  GC_TRY(vb_ws.alloc(size_t(m) * k * sizeof(float)));
  GC_TRY(gc_cast(a, copy_ws.buf(GC_F32, m * n)));
  GC_TRY(cusolver_gesvdj(copy_ws.as<float>(), int(n), int(m), s_ws.as<float>(), ub_ws.as<float>(), vb_ws.as<float>(), handled));
  if (!*handled) return GC_OK;
  GC_TRY(gc_cast(s_ws.buf(GC_F32, k), s));
  GC_TRY(gc_cast(ub_ws.buf(GC_F32, k * n), vt));
  write_rows_kernel<<<grid_for(k * m, kThreads), kThreads, 0, stream()>>>(vb_ws.as<float>(), nullptr, int(k), m, u.data, u.dtype, true);
  return launch_check("svd (gesvdj outputs)");
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" int gc_svd(gc_buf a, int64_t m, int64_t n, gc_buf u, gc_buf s, gc_buf vt) {
  const char *where = "svd";
  GC_TRY(require_init(where));
  if (m < 0 || n < 0) return fail(GC_ERR_ARGUMENT, "%s: m and n must be >= 0, got %lld and %lld", where, (long long)m, (long long)n);
  const int64_t k = std::min(m, n), L = std::max(m, n);
  for (const gc_buf *b : {&a, &u, &s, &vt}) GC_TRY(check_float(where, b == &a ? "a" : b == &u ? "u" : b == &s ? "s" : "vt", *b));
  GC_TRY(check_size(where, "a", a, m * n));
  GC_TRY(check_size(where, "u", u, m * k));
  GC_TRY(check_size(where, "s", s, k));
  GC_TRY(check_size(where, "vt", vt, k * n));
  if (k == 0) return GC_OK;
  // Views of exactly the sizes used, so the internal casts see matching sizes.
  a.size = m * n;
  u.size = m * k;
  s.size = k;
  vt.size = k * n;
  bool handled = false;
  GC_TRY(gesvdj_svd(a, m, n, u, s, vt, &handled));
  if (handled) return apply_sign_convention(u, vt, m, k, n);

  Workspace a32_ws, W_ws, Q_ws;
  GC_TRY(W_ws.alloc(size_t(k) * L * sizeof(float)));
  GC_TRY(Q_ws.alloc(size_t(k) * k * sizeof(float)));
  float *W = W_ws.as<float>();
  const bool tall = m >= n;  // W = A^T (rows are A's columns) when tall, else W = A
  if (tall) {
    GC_TRY(a32_ws.alloc(size_t(m) * n * sizeof(float)));
    GC_TRY(gc_cast(a, a32_ws.buf(GC_F32, m * n)));
    transpose_kernel<<<grid_for(m * n, kThreads), kThreads, 0, stream()>>>(a32_ws.as<float>(), W, m, n);
  } else {
    GC_TRY(gc_cast(a, W_ws.buf(GC_F32, m * n)));
  }
  GC_TRY(jacobi_svd(W, int(k), L, Q_ws.as<float>(), u, s, vt, tall));
  return apply_sign_convention(u, vt, m, k, n);
}
