/**
 * Runs a WebAssembly SIMD kernel over float32 arrays that live in ordinary JS memory: each chunk
 * of elements is copied into the kernel's memory (array i into region i), computed there, and the
 * regions the kernel wrote are copied back. The copies are memcpy speed, and a chunk keeps the
 * working set in L2.
 */

export interface ChunkPlan {
  /** The kernel's float32 view of its memory. */
  heap: Float32Array;
  /** Float offset of region 0; region i starts at base + i * chunk. */
  base: number;
  /** Elements per region (a multiple of 4). */
  chunk: number;
  /** One array per region, all of one length. */
  arrays: readonly Float32Array[];
  /** Regions copied in before the kernel runs. */
  read: readonly number[];
  /** Regions copied back after it runs. */
  written: readonly number[];
}

/** Calls `compute(vectors)` once per chunk, with the chunk's count of 4-float vectors (the last may be partial). */
export function inChunks(plan: ChunkPlan, compute: (vectors: number) => void): void {
  const { heap, base, chunk, arrays, read, written } = plan;
  const n = arrays[0]?.length ?? 0;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    for (const region of read) heap.set((arrays[region] as Float32Array).subarray(start, end), base + region * chunk);
    compute(Math.ceil((end - start) / 4));
    for (const region of written) {
      const from = base + region * chunk;
      (arrays[region] as Float32Array).set(heap.subarray(from, from + end - start), start);
    }
  }
}
