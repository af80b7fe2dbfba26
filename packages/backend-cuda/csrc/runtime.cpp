// Runtime state of the C ABI layer: the last-error message, device discovery, the one stream,
// the kernel error flag, synchronisation and host transfers.
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "internal.h"

namespace {

thread_local char g_last_error[1024] = "";

struct Runtime {
  bool initialized = false;
  int device = -1;
  cudaStream_t stream = nullptr;
  int *flag = nullptr;       // device: [code, value]
  int *flag_host = nullptr;  // pinned mirror for gc_synchronize
  bool use_libraries = true;
};
Runtime g_rt;

// Pinned staging buffers for non-blocking downloads, reused across reads. Touched only from the
// thread that calls begin/finish (the JS main thread in the binding).
struct Pinned {
  void *ptr;
  size_t bytes;
};
std::vector<Pinned> g_pinned_free;
constexpr size_t kPinnedKeepLimit = size_t(256) << 20;  // larger staging buffers are not cached

int pinned_take(size_t bytes, Pinned *out) {
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < g_pinned_free.size(); i++) {
    if (g_pinned_free[i].bytes >= bytes && (best == SIZE_MAX || g_pinned_free[i].bytes < g_pinned_free[best].bytes)) best = i;
  }
  if (best != SIZE_MAX) {
    *out = g_pinned_free[best];
    g_pinned_free.erase(g_pinned_free.begin() + best);
    return GC_OK;
  }
  size_t rounded = bytes < 65536 ? 65536 : (bytes + 65535) / 65536 * 65536;
  void *p = nullptr;
  GC_CUDA(cudaMallocHost(&p, rounded), "cudaMallocHost (download staging)");
  *out = Pinned{p, rounded};
  return GC_OK;
}

void pinned_give(Pinned p) {
  if (p.bytes > kPinnedKeepLimit) {
    cudaFreeHost(p.ptr);
    return;
  }
  g_pinned_free.push_back(p);
}

}  // namespace

struct gc_download_ticket {
  Pinned staging;
  size_t bytes;
  cudaEvent_t done;
};

namespace gc {

int fail(int status, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(g_last_error, sizeof g_last_error, fmt, args);
  va_end(args);
  return status;
}

int cuda_fail(cudaError_t err, const char *what) {
  return fail(GC_ERR_CUDA, "%s failed: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

bool initialized() { return g_rt.initialized; }
cudaStream_t stream() { return g_rt.stream; }
int *error_flag() { return g_rt.flag; }

int report_kernel_flag(const int flag[2]) {
  int code = flag[0], value = flag[1];
  if (code == FLAG_NONE) return GC_OK;
  cudaMemsetAsync(g_rt.flag, 0, 2 * sizeof(int), g_rt.stream);
  switch (code) {
    case FLAG_GATHER_ID:
      return fail(GC_ERR_KERNEL, "gatherRows: id %d is out of range for the table (expected 0 <= id < rows)", value);
    case FLAG_SCATTER_ID:
      return fail(GC_ERR_KERNEL, "scatterAddRows: id %d is out of range for the output (expected 0 <= id < rows)", value);
    case FLAG_CE_TARGET:
      return fail(GC_ERR_KERNEL,
                  "crossEntropy: target %d is out of range (expected 0 <= target < cols, or the ignore index)", value);
    default:
      return fail(GC_ERR_KERNEL, "a kernel flagged unknown error code %d (value %d)", code, value);
  }
}

bool cublas_enabled() { return g_rt.use_libraries; }
bool cusolver_enabled() { return g_rt.use_libraries; }

const char *dtype_name(gc_dtype d) {
  switch (d) {
    case GC_F32: return "float32";
    case GC_BF16: return "bfloat16";
    case GC_F16: return "float16";
    case GC_I32: return "int32";
    case GC_U8: return "uint8";
  }
  return "unknown dtype";
}

size_t dtype_bytes(gc_dtype d) {
  switch (d) {
    case GC_F32: case GC_I32: return 4;
    case GC_BF16: case GC_F16: return 2;
    case GC_U8: return 1;
  }
  return 0;
}

int require_init(const char *where) {
  if (!g_rt.initialized) return fail(GC_ERR_NOT_INIT, "%s: the CUDA runtime is not initialised (call gc_init first)", where);
  return GC_OK;
}

int check_size(const char *where, const char *name, const gc_buf &b, int64_t needed) {
  if (dtype_bytes(b.dtype) == 0) return fail(GC_ERR_ARGUMENT, "%s: %s has unknown dtype code %d", where, name, int(b.dtype));
  if (b.size < needed)
    return fail(GC_ERR_ARGUMENT, "%s: %s holds %lld elements, expected at least %lld", where, name,
                static_cast<long long>(b.size), static_cast<long long>(needed));
  if (needed > 0 && b.data == nullptr) return fail(GC_ERR_ARGUMENT, "%s: %s is a null buffer", where, name);
  return GC_OK;
}

int check_float(const char *where, const char *name, const gc_buf &b) {
  if (!is_float(b.dtype))
    return fail(GC_ERR_ARGUMENT, "%s: %s must be float32, bfloat16 or float16, got %s", where, name, dtype_name(b.dtype));
  return GC_OK;
}

int check_dtype(const char *where, const char *name, const gc_buf &b, gc_dtype expected) {
  if (b.dtype != expected)
    return fail(GC_ERR_ARGUMENT, "%s: %s must be %s, got %s", where, name, dtype_name(expected), dtype_name(b.dtype));
  return GC_OK;
}

int check_positive(const char *where, const char *name, int64_t value) {
  if (value <= 0) return fail(GC_ERR_ARGUMENT, "%s: %s must be positive, got %lld", where, name, static_cast<long long>(value));
  return GC_OK;
}

int launch_check(const char *where) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return fail(GC_ERR_CUDA, "%s: kernel launch failed: %s (%s)", where, cudaGetErrorString(err), cudaGetErrorName(err));
  return GC_OK;
}

Workspace::~Workspace() {
  if (ptr_) gc_free(ptr_);
}

int Workspace::alloc(size_t bytes) { return gc_alloc(bytes, &ptr_); }

}  // namespace gc

extern "C" {

const char *gc_last_error(void) { return g_last_error; }

int gc_runtime_version(void) { return CUDART_VERSION; }

int gc_device_count(int *count) {
  *count = 0;
  int driver = 0;
  cudaDriverGetVersion(&driver);
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err == cudaSuccess) {
    *count = n;
    if (n == 0) return gc::fail(GC_ERR_NO_DEVICE, "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)");
    return GC_OK;
  }
  cudaGetLastError();  // clear the sticky-free error so later calls start clean
  if (driver == 0 || err == cudaErrorInsufficientDriver) {
    if (driver == 0)
      return gc::fail(GC_ERR_NO_DEVICE, "no CUDA driver: libcuda.so.1 was not found (install the NVIDIA driver)");
    return gc::fail(GC_ERR_NO_DEVICE, "the CUDA driver (version %d.%d) is older than the CUDA runtime %d.%d this addon was built with",
                    driver / 1000, (driver % 1000) / 10, CUDART_VERSION / 1000, (CUDART_VERSION % 1000) / 10);
  }
  if (err == cudaErrorNoDevice) return gc::fail(GC_ERR_NO_DEVICE, "no CUDA device is visible (cudaErrorNoDevice)");
  return gc::fail(GC_ERR_NO_DEVICE, "CUDA device discovery failed: %s (%s)", cudaGetErrorString(err), cudaGetErrorName(err));
}

int gc_init(int device) {
  if (g_rt.initialized) {
    if (device == g_rt.device) return GC_OK;
    return gc::fail(GC_ERR_ARGUMENT, "gc_init: already initialised on device %d, asked for device %d", g_rt.device, device);
  }
  int count = 0;
  GC_TRY(gc_device_count(&count));
  if (device < 0 || device >= count)
    return gc::fail(GC_ERR_ARGUMENT, "gc_init: device index %d is out of range (%d device(s) visible)", device, count);
  GC_CUDA(cudaSetDevice(device), "cudaSetDevice");
  // A non-blocking stream: ordering comes from the stream alone, never from the legacy stream.
  GC_CUDA(cudaStreamCreateWithFlags(&g_rt.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  GC_CUDA(cudaMalloc(&g_rt.flag, 2 * sizeof(int)), "cudaMalloc (kernel error flag)");
  GC_CUDA(cudaMemsetAsync(g_rt.flag, 0, 2 * sizeof(int), g_rt.stream), "cudaMemset (kernel error flag)");
  GC_CUDA(cudaMallocHost(&g_rt.flag_host, 2 * sizeof(int)), "cudaMallocHost (kernel error flag)");
  g_rt.device = device;
  g_rt.initialized = true;
  gc::load_libraries();  // optional: failures only mean our own kernels serve
  return GC_OK;
}

int gc_shutdown(void) {
  if (!g_rt.initialized) return GC_OK;
  cudaStreamSynchronize(g_rt.stream);
  gc::unload_libraries();
  gc::allocator_shutdown();
  for (auto &p : g_pinned_free) cudaFreeHost(p.ptr);
  g_pinned_free.clear();
  cudaFree(g_rt.flag);
  cudaFreeHost(g_rt.flag_host);
  cudaStreamDestroy(g_rt.stream);
  g_rt = Runtime{};
  return GC_OK;
}

int gc_device_info_get(gc_device_info *info) {
  GC_TRY(gc::require_init("gc_device_info_get"));
  cudaDeviceProp prop;
  GC_CUDA(cudaGetDeviceProperties(&prop, g_rt.device), "cudaGetDeviceProperties");
  std::memset(info, 0, sizeof *info);
  std::snprintf(info->name, sizeof info->name, "%s", prop.name);
  info->major = prop.major;
  info->minor = prop.minor;
  info->total_memory = prop.totalGlobalMem;
  info->multiprocessors = prop.multiProcessorCount;
  cudaRuntimeGetVersion(&info->runtime_version);
  cudaDriverGetVersion(&info->driver_version);
  return GC_OK;
}

int gc_use_libraries(int enable) {
  g_rt.use_libraries = enable != 0;
  return GC_OK;
}

int gc_synchronize(void) {
  GC_TRY(gc::require_init("gc_synchronize"));
  GC_CUDA(cudaMemcpyAsync(g_rt.flag_host, g_rt.flag, 2 * sizeof(int), cudaMemcpyDeviceToHost, g_rt.stream),
          "reading the kernel error flag");
  GC_CUDA(cudaStreamSynchronize(g_rt.stream), "cudaStreamSynchronize");
  return gc::report_kernel_flag(g_rt.flag_host);
}

int gc_upload(void *dst, const void *host_src, size_t bytes) {
  GC_TRY(gc::require_init("gc_upload"));
  if (bytes == 0) return GC_OK;
  // Stream-ordered so a reused cache block is not overwritten under a kernel still reading it.
  // From pageable memory the driver stages the source before returning, so the caller may reuse it.
  GC_CUDA(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, g_rt.stream), "upload (cudaMemcpyAsync)");
  return GC_OK;
}

int gc_download(void *host_dst, const void *src, size_t bytes) {
  gc_download_ticket *ticket = nullptr;
  GC_TRY(gc_download_begin(src, bytes, &ticket));
  int status = gc_download_wait(ticket);
  if (status) {
    std::string message = gc_last_error();  // finishing must not overwrite the wait's error
    gc_download_finish(ticket, nullptr);
    return gc::fail(status, "%s", message.c_str());
  }
  return gc_download_finish(ticket, host_dst);
}

int gc_download_begin(const void *src, size_t bytes, gc_download_ticket **ticket) {
  GC_TRY(gc::require_init("gc_download_begin"));
  auto *t = new gc_download_ticket{};
  t->bytes = bytes;
  // The staging buffer holds the data and, after it, the kernel error flag.
  size_t flag_at = (bytes + 7) / 8 * 8;
  int status = pinned_take(flag_at + 2 * sizeof(int), &t->staging);
  if (status) {
    delete t;
    return status;
  }
  cudaError_t err = cudaSuccess;
  if (bytes) err = cudaMemcpyAsync(t->staging.ptr, src, bytes, cudaMemcpyDeviceToHost, g_rt.stream);
  if (err == cudaSuccess)
    err = cudaMemcpyAsync(static_cast<char *>(t->staging.ptr) + flag_at, g_rt.flag, 2 * sizeof(int), cudaMemcpyDeviceToHost,
                          g_rt.stream);
  if (err == cudaSuccess) err = cudaEventCreateWithFlags(&t->done, cudaEventDisableTiming);
  if (err == cudaSuccess) err = cudaEventRecord(t->done, g_rt.stream);
  if (err != cudaSuccess) {
    pinned_give(t->staging);
    delete t;
    return gc::cuda_fail(err, "download (cudaMemcpyAsync)");
  }
  *ticket = t;
  return GC_OK;
}

int gc_download_wait(gc_download_ticket *ticket) {
  cudaError_t err = cudaEventSynchronize(ticket->done);
  if (err != cudaSuccess) return gc::cuda_fail(err, "waiting for the stream (an earlier kernel failed)");
  return GC_OK;
}

int gc_download_finish(gc_download_ticket *ticket, void *host_dst) {
  size_t flag_at = (ticket->bytes + 7) / 8 * 8;
  int flag[2];
  std::memcpy(flag, static_cast<char *>(ticket->staging.ptr) + flag_at, sizeof flag);
  if (host_dst && ticket->bytes) std::memcpy(host_dst, ticket->staging.ptr, ticket->bytes);
  cudaEventDestroy(ticket->done);
  pinned_give(ticket->staging);
  delete ticket;
  return gc::report_kernel_flag(flag);
}

}  // extern "C"
