// Fused kernels: softmax / log-softmax (with the causal mask) and their backward passes,
// cross-entropy and its backward pass, RMSNorm and LayerNorm forward and backward, RoPE, SiLU-gate,
// GELU (erf form) and AdamW.
// Row kernels give each row one block and reduce with block_sum / block_max; all math is float32.
#include "device.cuh"
#include "internal.h"

namespace gc {
namespace {

constexpr int kThreads = 256;

// Threads for a row kernel: enough warps to cover short rows, at most 512.
int row_threads(int64_t cols) {
  int64_t t = (cols + 31) / 32 * 32;
  if (t < 32) t = 32;
  if (t > 512) t = 512;
  return static_cast<int>(t);
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535LL * 16 ? rows : 65535LL * 16); }

#define GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Number of visible columns of a row under the causal mask (all of them without one).
__device__ __forceinline__ int64_t visible_cols(int64_t row, int64_t cols, int64_t query_len, int64_t offset) {
  if (query_len <= 0) return cols;
  int64_t limit = row % query_len + offset + 1;
  return limit < 0 ? 0 : (limit > cols ? cols : limit);
}

__global__ void softmax_kernel(const void *x, int x_dtype, void *out, int out_dtype, int64_t rows, int64_t cols,
                               int64_t query_len, int64_t offset, int log_out) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    int64_t limit = visible_cols(row, cols, query_len, offset);
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < limit; j += blockDim.x) mx = fmaxf(mx, load_f(x, x_dtype, base + j));
    mx = block_max(mx);
    if (mx == -INFINITY) limit = 0;  // every visible score is -inf: the row counts as fully masked
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < limit; j += blockDim.x) sum += expf(load_f(x, x_dtype, base + j) - mx);
    sum = block_sum(sum);
    const float log_sum = logf(sum);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float v;
      if (j >= limit) v = log_out ? -INFINITY : 0.0f;
      else {
        float shifted = load_f(x, x_dtype, base + j) - mx;
        v = log_out ? shifted - log_sum : expf(shifted) / sum;
      }
      store_f(out, out_dtype, base + j, v);
    }
  }
}

// softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy).
__global__ void softmax_backward_kernel(const void *y, int y_dtype, const void *dy, int dy_dtype, void *dx, int dx_dtype,
                                        int64_t rows, int64_t cols, int log_in) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    float acc = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float g = load_f(dy, dy_dtype, base + j);
      acc += log_in ? g : g * load_f(y, y_dtype, base + j);
    }
    acc = block_sum(acc);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float g = load_f(dy, dy_dtype, base + j), yv = load_f(y, y_dtype, base + j);
      store_f(dx, dx_dtype, base + j, log_in ? g - expf(yv) * acc : yv * (g - acc));
    }
  }
}

// Returns the row's target, or -1 for an ignored row, or -2 (flagged) for one out of range.
__device__ __forceinline__ int64_t row_target(const int32_t *targets, int64_t row, int64_t cols, int64_t ignore_index, int *flag) {
  int64_t t = targets[row];
  if (t == ignore_index) return -1;
  if (t < 0 || t >= cols) {
    if (threadIdx.x == 0) flag_error(flag, FLAG_CE_TARGET, static_cast<int>(t));
    return -2;
  }
  return t;
}

__global__ void cross_entropy_kernel(const void *x, int x_dtype, const int32_t *targets, void *loss, int loss_dtype, int64_t rows,
                                     int64_t cols, int64_t ignore_index, int *flag) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t t = row_target(targets, row, cols, ignore_index, flag);
    if (t < 0) {  // uniform across the block, so no thread waits at a barrier alone
      if (threadIdx.x == 0) store_f(loss, loss_dtype, row, t == -1 ? 0.0f : NAN);
      continue;
    }
    const int64_t base = row * cols;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, load_f(x, x_dtype, base + j));
    mx = block_max(mx);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(load_f(x, x_dtype, base + j) - mx);
    sum = block_sum(sum);
    if (threadIdx.x == 0) store_f(loss, loss_dtype, row, mx + logf(sum) - load_f(x, x_dtype, base + t));
  }
}

__global__ void cross_entropy_backward_kernel(const void *x, int x_dtype, const int32_t *targets, const void *dloss,
                                              int dloss_dtype, void *dx, int dx_dtype, int64_t rows, int64_t cols,
                                              int64_t ignore_index, int *flag) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t t = row_target(targets, row, cols, ignore_index, flag);
    const int64_t base = row * cols;
    if (t < 0) {
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) store_f(dx, dx_dtype, base + j, t == -1 ? 0.0f : NAN);
      continue;
    }
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, load_f(x, x_dtype, base + j));
    mx = block_max(mx);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(load_f(x, x_dtype, base + j) - mx);
    sum = block_sum(sum);
    const float g = load_f(dloss, dloss_dtype, row);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float p = expf(load_f(x, x_dtype, base + j) - mx) / sum;
      store_f(dx, dx_dtype, base + j, g * (p - (j == t ? 1.0f : 0.0f)));
    }
  }
}

__global__ void rms_norm_kernel(const void *x, int x_dtype, const void *w, int w_dtype, void *out, int out_dtype, void *rstd,
                                int rstd_dtype, int64_t rows, int64_t cols, float eps) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float v = load_f(x, x_dtype, base + j);
      ss += v * v;
    }
    ss = block_sum(ss);
    const float r = 1.0f / sqrtf(ss / static_cast<float>(cols) + eps);
    if (threadIdx.x == 0) store_f(rstd, rstd_dtype, row, r);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      store_f(out, out_dtype, base + j, load_f(x, x_dtype, base + j) * r * load_f(w, w_dtype, j));
  }
}

// dx = rstd * dy * w - x * rstd^3 * mean(dy * w * x)
__global__ void rms_norm_backward_kernel(const void *x, int x_dtype, const void *w, int w_dtype, const void *rstd,
                                         int rstd_dtype, const void *dy, int dy_dtype, void *dx, int dx_dtype, int64_t rows,
                                         int64_t cols) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    float dot = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dot += load_f(dy, dy_dtype, base + j) * load_f(w, w_dtype, j) * load_f(x, x_dtype, base + j);
    dot = block_sum(dot);
    const float r = load_f(rstd, rstd_dtype, row);
    const float coef = r * r * r * dot / static_cast<float>(cols);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float g = load_f(dy, dy_dtype, base + j) * load_f(w, w_dtype, j);
      store_f(dx, dx_dtype, base + j, r * g - load_f(x, x_dtype, base + j) * coef);
    }
  }
}

// dweight[j] = sum over rows of dy * x * rstd, in two deterministic passes: partial sums over
// row chunks, then the sum of the partials.
__global__ void rms_dweight_partial_kernel(const void *x, int x_dtype, const void *rstd, int rstd_dtype, const void *dy,
                                           int dy_dtype, float *partial, int64_t rows, int64_t cols, int chunks) {
  const int64_t col = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (col >= cols) return;
  float acc = 0.0f;
  for (int64_t row = blockIdx.y; row < rows; row += chunks)
    acc += load_f(dy, dy_dtype, row * cols + col) * load_f(x, x_dtype, row * cols + col) * load_f(rstd, rstd_dtype, row);
  partial[int64_t(blockIdx.y) * cols + col] = acc;
}

// The second pass of the norms' column sums (RMSNorm's dweight, LayerNorm's dweight and dbias):
// out[col] = the sum of `chunks` partial sums, each a row of `partial`, in a fixed order.
__global__ void column_partials_sum_kernel(const float *partial, void *out, int out_dtype, int64_t cols, int chunks) {
  GRID_STRIDE(col, cols) {
    float acc = 0.0f;
    for (int c = 0; c < chunks; c++) acc += partial[int64_t(c) * cols + col];
    store_f(out, out_dtype, col, acc);
  }
}

// Row chunks of the first pass: enough blocks to fill the GPU, few partials to add up after.
int column_chunks(int64_t rows) { return static_cast<int>(rows < 64 ? rows : 64); }

// Two passes over the row: the variance is taken around the mean, so it does not cancel.
__global__ void layer_norm_kernel(const void *x, int x_dtype, const void *w, int w_dtype, const void *b, int b_dtype, void *out,
                                  int out_dtype, void *mean, int mean_dtype, void *rstd, int rstd_dtype, int64_t rows, int64_t cols,
                                  float eps) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += load_f(x, x_dtype, base + j);
    const float mu = block_sum(s) / static_cast<float>(cols);
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float d = load_f(x, x_dtype, base + j) - mu;
      ss += d * d;
    }
    const float r = 1.0f / sqrtf(block_sum(ss) / static_cast<float>(cols) + eps);
    if (threadIdx.x == 0) {
      store_f(mean, mean_dtype, row, mu);
      store_f(rstd, rstd_dtype, row, r);
    }
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      store_f(out, out_dtype, base + j, (load_f(x, x_dtype, base + j) - mu) * r * load_f(w, w_dtype, j) + load_f(b, b_dtype, j));
  }
}

// With xhat = (x - mean) rstd and g = dy w: dx = rstd (g - mean(g) - xhat mean(g xhat)).
__global__ void layer_norm_backward_kernel(const void *x, int x_dtype, const void *w, int w_dtype, const void *mean, int mean_dtype,
                                           const void *rstd, int rstd_dtype, const void *dy, int dy_dtype, void *dx, int dx_dtype,
                                           int64_t rows, int64_t cols) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    const float mu = load_f(mean, mean_dtype, row), r = load_f(rstd, rstd_dtype, row);
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float g = load_f(dy, dy_dtype, base + j) * load_f(w, w_dtype, j);
      sg += g;
      sgx += g * (load_f(x, x_dtype, base + j) - mu) * r;
    }
    const float mean_g = block_sum(sg) / static_cast<float>(cols);
    const float mean_gx = block_sum(sgx) / static_cast<float>(cols);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float xhat = (load_f(x, x_dtype, base + j) - mu) * r;
      const float g = load_f(dy, dy_dtype, base + j) * load_f(w, w_dtype, j);
      store_f(dx, dx_dtype, base + j, r * (g - mean_g - xhat * mean_gx));
    }
  }
}

// dweight[j] = sum over rows of dy xhat and dbias[j] = sum of dy, in the same two deterministic
// passes as RMSNorm's dweight: partial sums over row chunks (partial holds dweight's chunks, then
// dbias's), then column_partials_sum_kernel.
__global__ void ln_dparams_partial_kernel(const void *x, int x_dtype, const void *mean, int mean_dtype, const void *rstd,
                                          int rstd_dtype, const void *dy, int dy_dtype, float *partial, int64_t rows, int64_t cols,
                                          int chunks) {
  const int64_t col = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (col >= cols) return;
  float dw = 0.0f, db = 0.0f;
  for (int64_t row = blockIdx.y; row < rows; row += chunks) {
    const int64_t at = row * cols + col;
    const float d = load_f(dy, dy_dtype, at);
    dw += d * (load_f(x, x_dtype, at) - load_f(mean, mean_dtype, row)) * load_f(rstd, rstd_dtype, row);
    db += d;
  }
  partial[int64_t(blockIdx.y) * cols + col] = dw;
  partial[(int64_t(chunks) + blockIdx.y) * cols + col] = db;
}

// Hugging Face rotate_half RoPE; `inverse` rotates by the negative angle.
__global__ void rope_kernel(const void *x, int x_dtype, const void *cs, int cs_dtype, const void *sn, int sn_dtype, void *out,
                            int out_dtype, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, int inverse) {
  const int64_t half = head_dim / 2, total = batch * seq * heads * half;
  GRID_STRIDE(e, total) {
    const int64_t i = e % half, vec = e / half;  // vec indexes [batch, seq, heads]
    const int64_t s = (vec / heads) % seq;
    const int64_t base = vec * head_dim;
    const float x1 = load_f(x, x_dtype, base + i), x2 = load_f(x, x_dtype, base + i + half);
    const float c = load_f(cs, cs_dtype, s * half + i);
    float sv = load_f(sn, sn_dtype, s * half + i);
    if (inverse) sv = -sv;
    store_f(out, out_dtype, base + i, x1 * c - x2 * sv);
    store_f(out, out_dtype, base + i + half, x2 * c + x1 * sv);
  }
}

__global__ void silu_mul_kernel(const void *gate, int g_dtype, const void *up, int u_dtype, void *out, int out_dtype, int64_t n) {
  GRID_STRIDE(i, n) {
    const float g = load_f(gate, g_dtype, i);
    store_f(out, out_dtype, i, g / (1.0f + expf(-g)) * load_f(up, u_dtype, i));
  }
}

__global__ void silu_mul_backward_kernel(const void *gate, int g_dtype, const void *up, int u_dtype, const void *dy, int dy_dtype,
                                         void *dgate, int dg_dtype, void *dup, int du_dtype, int64_t n) {
  GRID_STRIDE(i, n) {
    const float g = load_f(gate, g_dtype, i), u = load_f(up, u_dtype, i), d = load_f(dy, dy_dtype, i);
    const float sig = 1.0f / (1.0f + expf(-g));
    store_f(dgate, dg_dtype, i, d * u * sig * (1.0f + g * (1.0f - sig)));
    store_f(dup, du_dtype, i, d * g * sig);
  }
}

// GELU, erf form: x Phi(x) with Phi = normcdff (CUDA's standard normal CDF, accurate in both tails).
__global__ void gelu_kernel(const void *x, int x_dtype, void *out, int out_dtype, int64_t n) {
  GRID_STRIDE(i, n) {
    const float v = load_f(x, x_dtype, i);
    store_f(out, out_dtype, i, v * normcdff(v));
  }
}

// d gelu / dx = Phi(x) + x phi(x).
__global__ void gelu_backward_kernel(const void *x, int x_dtype, const void *dy, int dy_dtype, void *dx, int dx_dtype, int64_t n) {
  constexpr float kFrac1Sqrt2Pi = 0.3989422804014327f;
  GRID_STRIDE(i, n) {
    const float v = load_f(x, x_dtype, i);
    const float pdf = kFrac1Sqrt2Pi * expf(-0.5f * v * v);
    store_f(dx, dx_dtype, i, load_f(dy, dy_dtype, i) * (normcdff(v) + v * pdf));
  }
}

struct AdamCoefficients {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, bias_correction2, eps;
};

__global__ void adamw_kernel(void *param, int p_dtype, const void *grad, int g_dtype, void *m, int m_dtype, void *v, int v_dtype,
                             int64_t n, AdamCoefficients c) {
  GRID_STRIDE(i, n) {
    const float g = load_f(grad, g_dtype, i);
    float p = load_f(param, p_dtype, i) * c.decay;
    const float mi = c.beta1 * load_f(m, m_dtype, i) + c.one_minus_beta1 * g;
    const float vi = c.beta2 * load_f(v, v_dtype, i) + c.one_minus_beta2 * g * g;
    p -= c.step_size * mi / (sqrtf(vi / c.bias_correction2) + c.eps);
    store_f(m, m_dtype, i, mi);
    store_f(v, v_dtype, i, vi);
    store_f(param, p_dtype, i, p);
  }
}

int check_rows(const char *where, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    return fail(GC_ERR_ARGUMENT, "%s: rows and cols must be >= 0, got %lld and %lld", where, (long long)rows, (long long)cols);
  return GC_OK;
}

int check_same_size(const char *where, const char *name, const gc_buf &b, int64_t n) {
  GC_TRY(check_float(where, name, b));
  return check_size(where, name, b, n);
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" {

int gc_softmax(gc_buf x, gc_buf out, int64_t rows, int64_t cols, int64_t causal_query_len, int64_t causal_offset, int log) {
  const char *where = log ? "logSoftmax" : "softmax";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  if (causal_query_len < 0) return fail(GC_ERR_ARGUMENT, "%s: causal queryLen must be > 0, got %lld", where, (long long)causal_query_len);
  GC_TRY(check_same_size(where, "x", x, rows * cols));
  GC_TRY(check_same_size(where, "out", out, rows * cols));
  if (rows * cols == 0) return GC_OK;
  softmax_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(x.data, x.dtype, out.data, out.dtype, rows, cols,
                                                                      causal_query_len, causal_offset, log);
  return launch_check(where);
}

int gc_softmax_backward(gc_buf y, gc_buf dy, gc_buf dx, int64_t rows, int64_t cols, int log) {
  const char *where = log ? "logSoftmaxBackward" : "softmaxBackward";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "y", y, rows * cols));
  GC_TRY(check_same_size(where, "dy", dy, rows * cols));
  GC_TRY(check_same_size(where, "dx", dx, rows * cols));
  if (rows * cols == 0) return GC_OK;
  softmax_backward_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(y.data, y.dtype, dy.data, dy.dtype, dx.data, dx.dtype,
                                                                               rows, cols, log);
  return launch_check(where);
}

int gc_cross_entropy(gc_buf logits, gc_buf targets, gc_buf loss, int64_t rows, int64_t cols, int64_t ignore_index) {
  const char *where = "crossEntropy";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "logits", logits, rows * cols));
  GC_TRY(check_dtype(where, "targets", targets, GC_I32));
  GC_TRY(check_size(where, "targets", targets, rows));
  GC_TRY(check_same_size(where, "loss", loss, rows));
  if (rows == 0) return GC_OK;
  cross_entropy_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(logits.data, logits.dtype,
                                                                            static_cast<const int32_t *>(targets.data), loss.data,
                                                                            loss.dtype, rows, cols, ignore_index, error_flag());
  return launch_check(where);
}

int gc_cross_entropy_backward(gc_buf logits, gc_buf targets, gc_buf dloss, gc_buf dx, int64_t rows, int64_t cols,
                              int64_t ignore_index) {
  const char *where = "crossEntropyBackward";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "logits", logits, rows * cols));
  GC_TRY(check_dtype(where, "targets", targets, GC_I32));
  GC_TRY(check_size(where, "targets", targets, rows));
  GC_TRY(check_same_size(where, "dloss", dloss, rows));
  GC_TRY(check_same_size(where, "dx", dx, rows * cols));
  if (rows * cols == 0) return GC_OK;
  cross_entropy_backward_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(
      logits.data, logits.dtype, static_cast<const int32_t *>(targets.data), dloss.data, dloss.dtype, dx.data, dx.dtype, rows, cols,
      ignore_index, error_flag());
  return launch_check(where);
}

int gc_rms_norm(gc_buf x, gc_buf weight, gc_buf out, gc_buf rstd, int64_t rows, int64_t cols, double eps) {
  const char *where = "rmsNorm";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "x", x, rows * cols));
  GC_TRY(check_same_size(where, "weight", weight, cols));
  GC_TRY(check_same_size(where, "out", out, rows * cols));
  GC_TRY(check_same_size(where, "rstd", rstd, rows));
  if (rows * cols == 0) return GC_OK;
  rms_norm_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(x.data, x.dtype, weight.data, weight.dtype, out.data, out.dtype,
                                                                       rstd.data, rstd.dtype, rows, cols, static_cast<float>(eps));
  return launch_check(where);
}

int gc_rms_norm_backward(gc_buf x, gc_buf weight, gc_buf rstd, gc_buf dy, gc_buf dx, gc_buf dweight, int64_t rows, int64_t cols) {
  const char *where = "rmsNormBackward";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "x", x, rows * cols));
  GC_TRY(check_same_size(where, "weight", weight, cols));
  GC_TRY(check_same_size(where, "rstd", rstd, rows));
  GC_TRY(check_same_size(where, "dy", dy, rows * cols));
  GC_TRY(check_same_size(where, "dx", dx, rows * cols));
  GC_TRY(check_same_size(where, "dweight", dweight, cols));
  if (cols == 0) return GC_OK;
  if (rows == 0) return gc_fill(dweight, 0.0);
  rms_norm_backward_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(x.data, x.dtype, weight.data, weight.dtype, rstd.data,
                                                                                rstd.dtype, dy.data, dy.dtype, dx.data, dx.dtype,
                                                                                rows, cols);
  GC_TRY(launch_check(where));
  const int chunks = column_chunks(rows);
  Workspace partial;
  GC_TRY(partial.alloc(size_t(chunks) * cols * sizeof(float)));
  dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads), chunks);
  rms_dweight_partial_kernel<<<grid, kThreads, 0, stream()>>>(x.data, x.dtype, rstd.data, rstd.dtype, dy.data, dy.dtype,
                                                               partial.as<float>(), rows, cols, chunks);
  column_partials_sum_kernel<<<grid_for(cols, kThreads), kThreads, 0, stream()>>>(partial.as<float>(), dweight.data,
                                                                                   dweight.dtype, cols, chunks);
  return launch_check(where);
}

int gc_layer_norm(gc_buf x, gc_buf weight, gc_buf bias, gc_buf out, gc_buf mean, gc_buf rstd, int64_t rows, int64_t cols,
                  double eps) {
  const char *where = "layerNorm";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "x", x, rows * cols));
  GC_TRY(check_same_size(where, "weight", weight, cols));
  GC_TRY(check_same_size(where, "bias", bias, cols));
  GC_TRY(check_same_size(where, "out", out, rows * cols));
  GC_TRY(check_same_size(where, "mean", mean, rows));
  GC_TRY(check_same_size(where, "rstd", rstd, rows));
  if (rows * cols == 0) return GC_OK;
  layer_norm_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(x.data, x.dtype, weight.data, weight.dtype, bias.data,
                                                                         bias.dtype, out.data, out.dtype, mean.data, mean.dtype,
                                                                         rstd.data, rstd.dtype, rows, cols, static_cast<float>(eps));
  return launch_check(where);
}

int gc_layer_norm_backward(gc_buf x, gc_buf weight, gc_buf mean, gc_buf rstd, gc_buf dy, gc_buf dx, gc_buf dweight, gc_buf dbias,
                           int64_t rows, int64_t cols) {
  const char *where = "layerNormBackward";
  GC_TRY(require_init(where));
  GC_TRY(check_rows(where, rows, cols));
  GC_TRY(check_same_size(where, "x", x, rows * cols));
  GC_TRY(check_same_size(where, "weight", weight, cols));
  GC_TRY(check_same_size(where, "mean", mean, rows));
  GC_TRY(check_same_size(where, "rstd", rstd, rows));
  GC_TRY(check_same_size(where, "dy", dy, rows * cols));
  GC_TRY(check_same_size(where, "dx", dx, rows * cols));
  GC_TRY(check_same_size(where, "dweight", dweight, cols));
  GC_TRY(check_same_size(where, "dbias", dbias, cols));
  if (cols == 0) return GC_OK;
  if (rows == 0) {
    GC_TRY(gc_fill(dweight, 0.0));
    return gc_fill(dbias, 0.0);
  }
  layer_norm_backward_kernel<<<row_grid(rows), row_threads(cols), 0, stream()>>>(
      x.data, x.dtype, weight.data, weight.dtype, mean.data, mean.dtype, rstd.data, rstd.dtype, dy.data, dy.dtype, dx.data, dx.dtype,
      rows, cols);
  GC_TRY(launch_check(where));
  const int chunks = column_chunks(rows);
  Workspace partial;
  GC_TRY(partial.alloc(2 * size_t(chunks) * cols * sizeof(float)));
  dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads), chunks);
  ln_dparams_partial_kernel<<<grid, kThreads, 0, stream()>>>(x.data, x.dtype, mean.data, mean.dtype, rstd.data, rstd.dtype, dy.data,
                                                              dy.dtype, partial.as<float>(), rows, cols, chunks);
  column_partials_sum_kernel<<<grid_for(cols, kThreads), kThreads, 0, stream()>>>(partial.as<float>(), dweight.data,
                                                                                   dweight.dtype, cols, chunks);
  column_partials_sum_kernel<<<grid_for(cols, kThreads), kThreads, 0, stream()>>>(partial.as<float>() + int64_t(chunks) * cols,
                                                                                   dbias.data, dbias.dtype, cols, chunks);
  return launch_check(where);
}

int gc_rope(gc_buf x, gc_buf cos, gc_buf sin, gc_buf out, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, int inverse) {
  const char *where = "rope";
  GC_TRY(require_init(where));
  if (batch < 0 || seq < 0 || heads < 0 || head_dim < 0 || head_dim % 2 != 0)
    return fail(GC_ERR_ARGUMENT, "%s: expected batch, seq, heads >= 0 and an even headDim, got %lld, %lld, %lld, %lld", where,
                (long long)batch, (long long)seq, (long long)heads, (long long)head_dim);
  const int64_t n = batch * seq * heads * head_dim;
  GC_TRY(check_same_size(where, "x", x, n));
  GC_TRY(check_same_size(where, "out", out, n));
  GC_TRY(check_same_size(where, "cos", cos, seq * head_dim / 2));
  GC_TRY(check_same_size(where, "sin", sin, seq * head_dim / 2));
  if (n == 0) return GC_OK;
  rope_kernel<<<grid_for(n / 2, kThreads), kThreads, 0, stream()>>>(x.data, x.dtype, cos.data, cos.dtype, sin.data, sin.dtype,
                                                                     out.data, out.dtype, batch, seq, heads, head_dim, inverse);
  return launch_check(where);
}

int gc_silu_mul(gc_buf gate, gc_buf up, gc_buf out) {
  const char *where = "siluMul";
  GC_TRY(require_init(where));
  const int64_t n = gate.size;
  GC_TRY(check_same_size(where, "gate", gate, n));
  GC_TRY(check_same_size(where, "up", up, n));
  GC_TRY(check_same_size(where, "out", out, n));
  if (n == 0) return GC_OK;
  silu_mul_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(gate.data, gate.dtype, up.data, up.dtype, out.data, out.dtype, n);
  return launch_check(where);
}

int gc_silu_mul_backward(gc_buf gate, gc_buf up, gc_buf dy, gc_buf dgate, gc_buf dup) {
  const char *where = "siluMulBackward";
  GC_TRY(require_init(where));
  const int64_t n = gate.size;
  GC_TRY(check_same_size(where, "gate", gate, n));
  GC_TRY(check_same_size(where, "up", up, n));
  GC_TRY(check_same_size(where, "dy", dy, n));
  GC_TRY(check_same_size(where, "dgate", dgate, n));
  GC_TRY(check_same_size(where, "dup", dup, n));
  if (n == 0) return GC_OK;
  silu_mul_backward_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(gate.data, gate.dtype, up.data, up.dtype, dy.data,
                                                                              dy.dtype, dgate.data, dgate.dtype, dup.data, dup.dtype, n);
  return launch_check(where);
}

int gc_gelu(gc_buf x, gc_buf out) {
  const char *where = "gelu";
  GC_TRY(require_init(where));
  const int64_t n = x.size;
  GC_TRY(check_same_size(where, "x", x, n));
  GC_TRY(check_same_size(where, "out", out, n));
  if (n == 0) return GC_OK;
  gelu_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(x.data, x.dtype, out.data, out.dtype, n);
  return launch_check(where);
}

int gc_gelu_backward(gc_buf x, gc_buf dy, gc_buf dx) {
  const char *where = "geluBackward";
  GC_TRY(require_init(where));
  const int64_t n = x.size;
  GC_TRY(check_same_size(where, "x", x, n));
  GC_TRY(check_same_size(where, "dy", dy, n));
  GC_TRY(check_same_size(where, "dx", dx, n));
  if (n == 0) return GC_OK;
  gelu_backward_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(x.data, x.dtype, dy.data, dy.dtype, dx.data, dx.dtype, n);
  return launch_check(where);
}

int gc_adamw(gc_buf param, gc_buf grad, gc_buf m, gc_buf v, const gc_adamw_params *p) {
  const char *where = "adamw";
  GC_TRY(require_init(where));
  const int64_t n = param.size;
  GC_TRY(check_same_size(where, "param", param, n));
  GC_TRY(check_same_size(where, "grad", grad, n));
  GC_TRY(check_same_size(where, "m", m, n));
  GC_TRY(check_same_size(where, "v", v, n));
  if (!(p->bias_correction1 > 0) || !(p->bias_correction2 > 0))
    return fail(GC_ERR_ARGUMENT, "%s: bias corrections must be > 0 (1 - beta^t for step t >= 1), got %g and %g", where,
                p->bias_correction1, p->bias_correction2);
  if (n == 0) return GC_OK;
  // Coefficients are formed in double on the host, then rounded once to float32.
  AdamCoefficients c{float(1.0 - p->lr * p->weight_decay), float(p->beta1), float(1.0 - p->beta1), float(p->beta2),
                     float(1.0 - p->beta2), float(p->lr / p->bias_correction1), float(p->bias_correction2), float(p->eps)};
  adamw_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(param.data, param.dtype, grad.data, grad.dtype, m.data, m.dtype,
                                                                  v.data, v.dtype, n, c);
  return launch_check(where);
}

}  // extern "C"
