// The caching allocator. cudaMalloc/cudaFree are slow and cudaFree synchronises the device, so
// freed blocks are kept in a size-ordered cache and handed out again. Everything runs on one
// stream, so a block freed by the host can be reused by the next kernel at once: the stream runs
// the later kernel after the earlier ones that touched the block. On out-of-memory the cache is
// returned to the driver and the allocation retried once.
#include <map>
#include <unordered_map>

#include "internal.h"

namespace {

struct Allocator {
  std::multimap<size_t, void *> cache;  // free blocks by size
  std::unordered_map<void *, size_t> live;  // block -> rounded size
  gc_memory_stats stats{};
};
Allocator g_alloc;

// Small blocks round to 512 bytes, large ones to 2 MiB, so reuse finds matches often.
size_t round_size(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20;
  if (bytes < (size_t(1) << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

// Takes a cached block of at least `size` bytes, but not more than twice as large.
void *take_cached(size_t size, size_t *block_size) {
  auto it = g_alloc.cache.lower_bound(size);
  if (it == g_alloc.cache.end() || it->first > 2 * size) return nullptr;
  void *p = it->second;
  *block_size = it->first;
  g_alloc.stats.cached -= it->first;
  g_alloc.cache.erase(it);
  return p;
}

}  // namespace

namespace gc {

int allocator_release_all() {
  if (g_alloc.cache.empty()) return GC_OK;
  cudaStreamSynchronize(stream());
  for (auto &entry : g_alloc.cache) {
    cudaFree(entry.second);
    g_alloc.stats.reserved -= entry.first;
  }
  g_alloc.cache.clear();
  g_alloc.stats.cached = 0;
  return GC_OK;
}

void allocator_shutdown() {
  allocator_release_all();
  for (auto &entry : g_alloc.live) cudaFree(entry.first);
  g_alloc.live.clear();
  g_alloc.stats = gc_memory_stats{};
}

}  // namespace gc

extern "C" {

int gc_alloc(size_t bytes, void **ptr) {
  *ptr = nullptr;
  GC_TRY(gc::require_init("alloc"));
  if (bytes == 0) return GC_OK;  // an empty storage owns no device memory
  size_t size = round_size(bytes);
  size_t block = size;
  void *p = take_cached(size, &block);
  if (!p) {
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      gc::allocator_release_all();
      err = cudaMalloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      return gc::fail(GC_ERR_CUDA,
                      "alloc: out of device memory allocating %zu bytes (%zu bytes in use by tensors, %zu free of %zu on the device): %s",
                      size, g_alloc.stats.allocated, free_bytes, total_bytes, cudaGetErrorString(err));
    }
    g_alloc.stats.reserved += size;
    g_alloc.stats.cuda_mallocs++;
    if (g_alloc.stats.reserved > g_alloc.stats.peak_reserved) g_alloc.stats.peak_reserved = g_alloc.stats.reserved;
  }
  g_alloc.live[p] = block;
  g_alloc.stats.allocated += block;
  *ptr = p;
  return GC_OK;
}

int gc_free(void *ptr) {
  if (!ptr) return GC_OK;
  auto it = g_alloc.live.find(ptr);
  if (it == g_alloc.live.end()) return gc::fail(GC_ERR_ARGUMENT, "free: %p is not a live block of this allocator (double free?)", ptr);
  g_alloc.stats.allocated -= it->second;
  g_alloc.stats.cached += it->second;
  g_alloc.cache.emplace(it->second, ptr);
  g_alloc.live.erase(it);
  return GC_OK;
}

int gc_empty_cache(void) {
  GC_TRY(gc::require_init("emptyCache"));
  return gc::allocator_release_all();
}

int gc_memory_stats_get(gc_memory_stats *stats) {
  *stats = g_alloc.stats;
  return GC_OK;
}

}  // extern "C"
