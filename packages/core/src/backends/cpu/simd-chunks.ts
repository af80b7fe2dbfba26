/**
 * Runs a WebAssembly SIMD kernel over float32 arrays that live in ordinary JS memory: each chunk
 * of elements is copied into the kernel's memory (array i into region i), computed there, and the
 * regions the kernel wrote are copied back. The copies are memcpy speed, and a chunk keeps the
 * working set in L2.
 *
 * Arrays that all live in the CPU storages' arena (wasm-arena.ts) skip the copies: a kernel
 * instance importing the arena runs once over their whole vectors in place, pointers being their
 * byteOffsets, and only the last n % 4 elements (whose vector would overrun an array) go through
 * the chunks.
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

/** The in-place run: `compute(pointers, vectors)` with one byte pointer per array of the plan, in the arena's memory. */
export interface InPlace {
  buffer: ArrayBuffer;
  compute: (pointers: readonly number[], vectors: number) => void;
}

/**
 * Calls `compute(vectors)` once per chunk, with the chunk's count of 4-float vectors (the last may
 * be partial), after `inPlace` has covered the whole vectors where every array lives in its
 * buffer and no written array overlaps another (an elementwise kernel, `elementwise`, may also
 * write exactly over an input).
 */
export function inChunks(
  plan: ChunkPlan,
  compute: (vectors: number) => void,
  inPlace?: InPlace | null,
  elementwise = true,
): void {
  const { heap, base, chunk, arrays, read, written } = plan;
  const n = arrays[0]?.length ?? 0;
  let done = 0;
  if (inPlace && n >= 4 && inArena(inPlace.buffer, arrays, written, elementwise)) {
    const vectors = Math.floor(n / 4);
    inPlace.compute(
      arrays.map((array) => array.byteOffset),
      vectors,
    );
    done = vectors * 4;
  }
  for (let start = done; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    for (const region of read) heap.set((arrays[region] as Float32Array).subarray(start, end), base + region * chunk);
    compute(Math.ceil((end - start) / 4));
    for (const region of written) {
      const from = base + region * chunk;
      (arrays[region] as Float32Array).set(heap.subarray(from, from + end - start), start);
    }
  }
}

/**
 * Whether all `arrays` are views of `buffer` and each written one (indices `written`) is apart
 * from every other array, or, for an `elementwise` kernel, exactly one of them.
 */
export function inArena(
  buffer: ArrayBuffer,
  arrays: readonly Float32Array[],
  written: readonly number[],
  elementwise: boolean,
): boolean {
  for (const array of arrays) if (array.buffer !== buffer) return false;
  for (const w of written) {
    const out = arrays[w] as Float32Array;
    for (let k = 0; k < arrays.length; k++) {
      const other = arrays[k] as Float32Array;
      if (k === w || !overlaps(out, other)) continue;
      const same = other.byteOffset === out.byteOffset && other.length === out.length;
      if (!(elementwise && same && !written.includes(k))) return false;
    }
  }
  return true;
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
