/*
 * galore_cuda.h: the C ABI between the CUDA kernels and anything that drives them (the Node
 * binding, the standalone self-test). Plain C types only, so the kernels can be tested without
 * Node and the binding stays a thin translation layer.
 *
 * Conventions:
 * - Every function returns 0 on success or a nonzero gc_status; gc_last_error() then says what
 *   went wrong in a sentence that names what was expected and what came.
 * - Buffers are device arrays described by gc_buf (pointer, dtype, element count). All kernels
 *   run on the one stream created by gc_init and are ordered by it; outputs are preallocated.
 * - Floating kernels read float32 / bfloat16 / float16, compute in float32 and round to the
 *   output dtype (round to nearest even).
 */
#ifndef GALORE_CUDA_H
#define GALORE_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gc_status {
  GC_OK = 0,
  GC_ERR_ARGUMENT = 1,  /* a bad size, dtype or parameter */
  GC_ERR_CUDA = 2,      /* the CUDA runtime reported an error */
  GC_ERR_NO_DEVICE = 3, /* no driver or no device */
  GC_ERR_NOT_INIT = 4,  /* gc_init was not called */
  GC_ERR_LIBRARY = 5,   /* cuBLAS / cuSOLVER reported an error */
  GC_ERR_KERNEL = 6     /* a kernel flagged bad data (e.g. an index out of range) */
} gc_status;

/* Element types; the numbering is part of the ABI (the binding maps core dtypes onto it). */
typedef enum gc_dtype { GC_F32 = 0, GC_BF16 = 1, GC_F16 = 2, GC_I32 = 3, GC_U8 = 4 } gc_dtype;

#define GC_MAX_DIMS 8

typedef struct gc_buf {
  void *data;
  gc_dtype dtype;
  int64_t size; /* elements */
} gc_buf;

/* Same order as core's UnaryOp / BinaryOp / ReduceOp unions. */
typedef enum gc_unary_op {
  GC_NEG, GC_EXP, GC_LOG, GC_SQRT, GC_RSQRT, GC_ABS, GC_SIGMOID, GC_SILU, GC_TANH, GC_RELU,
  GC_SIGN, GC_SQUARE, GC_RECIPROCAL, GC_SIN, GC_COS, GC_UNARY_COUNT
} gc_unary_op;

typedef enum gc_binary_op {
  GC_ADD, GC_SUB, GC_MUL, GC_DIV, GC_POW, GC_MAXIMUM, GC_MINIMUM,
  GC_EQ, GC_NE, GC_LT, GC_LE, GC_GT, GC_GE, GC_BINARY_COUNT
} gc_binary_op;

typedef enum gc_reduce_op { GC_SUM, GC_MAX, GC_MIN, GC_REDUCE_COUNT } gc_reduce_op;

/* A strided window onto a buffer, in elements. */
typedef struct gc_view {
  int ndim;
  int64_t shape[GC_MAX_DIMS];
  int64_t strides[GC_MAX_DIMS];
  int64_t offset;
} gc_view;

/* Broadcast layout: contiguous output of `shape`; inputs read at their strides (0 = broadcast). */
typedef struct gc_layout {
  int ndim;
  int64_t shape[GC_MAX_DIMS];
  int64_t a_strides[GC_MAX_DIMS];
  int64_t b_strides[GC_MAX_DIMS];
  int64_t cond_strides[GC_MAX_DIMS];
} gc_layout;

typedef struct gc_matmul_params {
  int64_t batch, m, n, k;
  int trans_a, trans_b;
  int64_t a_batch_stride, b_batch_stride;
  int accumulate;
} gc_matmul_params;

typedef struct gc_adamw_params {
  double lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
} gc_adamw_params;

typedef struct gc_device_info {
  char name[256];
  int major, minor;
  size_t total_memory;
  int multiprocessors;
  int runtime_version, driver_version;
} gc_device_info;

typedef struct gc_memory_stats {
  size_t allocated; /* bytes in live blocks (rounded block sizes) */
  size_t cached;    /* bytes held in the cache, free for reuse */
  size_t reserved;  /* bytes obtained from cudaMalloc and not yet returned */
  size_t peak_reserved;
  int64_t cuda_mallocs; /* cudaMalloc calls so far: a measure of cache misses */
} gc_memory_stats;

/* Which optional libraries were found at gc_init (dlopen) and are in use. */
typedef struct gc_library_info {
  int cublas_loaded;
  int cusolver_loaded;
  char cublas_path[256];
  char cusolver_path[256];
} gc_library_info;

/* --- runtime --- */
const char *gc_last_error(void);
/* The CUDA runtime version the addon was built with (e.g. 13000 for 13.0). */
int gc_runtime_version(void);
/* Counts devices without initialising anything; a missing driver is reported as an error. */
int gc_device_count(int *count);
int gc_init(int device);
int gc_shutdown(void);
int gc_device_info_get(gc_device_info *info);
int gc_library_info_get(gc_library_info *info);
/* 1: use cuBLAS / cuSOLVER when loaded (default); 0: always use our own kernels. */
int gc_use_libraries(int enable);
/* Waits for the stream and reports any error a kernel flagged since the last check. */
int gc_synchronize(void);

/* --- caching allocator (one stream, so a freed block may be reused by the next kernel) --- */
int gc_alloc(size_t bytes, void **ptr);
int gc_free(void *ptr);
int gc_empty_cache(void);
int gc_memory_stats_get(gc_memory_stats *stats);

/* --- transfers --- */
int gc_upload(void *dst, const void *host_src, size_t bytes);
int gc_download(void *host_dst, const void *src, size_t bytes); /* blocking */
/* Non-blocking download in three steps: begin (enqueue into pinned staging), wait (may run on
 * any thread), finish (copy out and release). A ticket is returned by begin. */
typedef struct gc_download_ticket gc_download_ticket;
int gc_download_begin(const void *src, size_t bytes, gc_download_ticket **ticket);
int gc_download_wait(gc_download_ticket *ticket);
/* Copies the data out (host_dst may be null), releases the ticket, and reports any error a kernel
 * flagged before the download was enqueued. */
int gc_download_finish(gc_download_ticket *ticket, void *host_dst);

/* --- creation and conversion --- */
int gc_fill(gc_buf out, double value);
/* Philox 4x32-10 exactly as core's random.ts: distribution 0 = uniform [a, b), 1 = normal(a, b). */
int gc_random(gc_buf out, int distribution, uint32_t seed_lo, uint32_t seed_hi, uint64_t offset, double a, double b);
int gc_cast(gc_buf x, gc_buf out);
int gc_copy(gc_buf src, const gc_view *src_view, gc_buf dst, const gc_view *dst_view);

/* --- elementwise --- */
int gc_unary(int op, gc_buf x, gc_buf out);
int gc_binary(int op, gc_buf a, gc_buf b, gc_buf out, const gc_layout *layout);
int gc_where(gc_buf cond, gc_buf a, gc_buf b, gc_buf out, const gc_layout *layout);

/* --- reductions over the middle axis of [outer, reduce, inner] --- */
int gc_reduce(int op, gc_buf x, gc_buf out, int64_t outer, int64_t reduce, int64_t inner);
int gc_argmax(gc_buf x, gc_buf out, int64_t outer, int64_t reduce, int64_t inner);

/* --- linear algebra --- */
int gc_matmul(gc_buf a, gc_buf b, gc_buf out, const gc_matmul_params *params);
int gc_svd(gc_buf a, int64_t m, int64_t n, gc_buf u, gc_buf s, gc_buf vt);
int gc_qr(gc_buf a, int64_t m, int64_t n, gc_buf q, gc_buf r);

/* --- indexing --- */
int gc_gather_rows(gc_buf table, gc_buf ids, gc_buf out, int64_t dim);
int gc_scatter_add_rows(gc_buf src, gc_buf ids, gc_buf out, int64_t dim);

/* --- fused kernels --- */
/* causal_query_len 0 disables the causal mask. */
int gc_softmax(gc_buf x, gc_buf out, int64_t rows, int64_t cols, int64_t causal_query_len, int64_t causal_offset, int log);
int gc_softmax_backward(gc_buf y, gc_buf dy, gc_buf dx, int64_t rows, int64_t cols, int log);
int gc_cross_entropy(gc_buf logits, gc_buf targets, gc_buf loss, int64_t rows, int64_t cols, int64_t ignore_index);
int gc_cross_entropy_backward(gc_buf logits, gc_buf targets, gc_buf dloss, gc_buf dx, int64_t rows, int64_t cols,
                              int64_t ignore_index);
int gc_rms_norm(gc_buf x, gc_buf weight, gc_buf out, gc_buf rstd, int64_t rows, int64_t cols, double eps);
int gc_rms_norm_backward(gc_buf x, gc_buf weight, gc_buf rstd, gc_buf dy, gc_buf dx, gc_buf dweight, int64_t rows,
                         int64_t cols);
int gc_layer_norm(gc_buf x, gc_buf weight, gc_buf bias, gc_buf out, gc_buf mean, gc_buf rstd, int64_t rows, int64_t cols,
                  double eps);
int gc_layer_norm_backward(gc_buf x, gc_buf weight, gc_buf mean, gc_buf rstd, gc_buf dy, gc_buf dx, gc_buf dweight, gc_buf dbias,
                           int64_t rows, int64_t cols);
int gc_rope(gc_buf x, gc_buf cos, gc_buf sin, gc_buf out, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
            int inverse);
int gc_silu_mul(gc_buf gate, gc_buf up, gc_buf out);
int gc_silu_mul_backward(gc_buf gate, gc_buf up, gc_buf dy, gc_buf dgate, gc_buf dup);
int gc_gelu(gc_buf x, gc_buf out);
int gc_gelu_backward(gc_buf x, gc_buf dy, gc_buf dx);
int gc_adamw(gc_buf param, gc_buf grad, gc_buf m, gc_buf v, const gc_adamw_params *params);
int gc_quantize_blockwise(gc_buf x, gc_buf codebook, gc_buf codes, gc_buf absmax, int64_t block_size);
int gc_dequantize_blockwise(gc_buf codes, gc_buf codebook, gc_buf absmax, gc_buf out, int64_t block_size);

#ifdef __cplusplus
}
#endif

#endif /* GALORE_CUDA_H */
