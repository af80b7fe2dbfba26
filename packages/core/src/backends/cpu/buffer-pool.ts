/**
 * Recycles the typed arrays of freed CPU storages. A training step allocates and frees the same
 * sizes every step; fresh arrays cost the garbage collector (large ArrayBuffers are external
 * memory that triggers collections) and page faults on first touch. A recycled array is zeroed
 * before reuse, so a new storage reads as zeros exactly as a fresh one does, unless the caller
 * says it will overwrite every element (an uninitialized allocation, see Backend.alloc).
 *
 * The pool holds at most MAX_POOLED_BYTES (memory the tracker no longer counts) and only arrays
 * of at least MIN_POOLED_BYTES (small ones are cheap to make).
 *
 * float32 and float64 arrays of any size come from the WebAssembly arena (wasm-arena.ts) while it
 * has room, so the SIMD kernels run on them in place; its freed blocks are its own free lists. A
 * block whose storage is never freed goes back to the arena once the garbage collector has taken
 * its array (nothing can reach the block then), as an ordinary array's memory would.
 */
import { DTYPE_BYTES, type DType, type HostArray, hostArrayFor } from '../../dtype.js';
import { cpuArena } from './wasm-arena.js';

const MAX_POOLED_BYTES = 256 * 2 ** 20;
const MIN_POOLED_BYTES = 4096;

/** Arrays by dtype, then by length (numeric keys: no key string built per allocation). */
const pooled = new Map<DType, Map<number, HostArray[]>>();
let pooledBytes = 0;

/**
 * An array for `size` elements of `dtype`, recycled when one of that exact size is pooled; zeroed
 * unless `zeroed` is false (fresh arrays are zero anyway).
 */
export function takeArray(dtype: DType, size: number, zeroed = true): HostArray {
  if ((dtype === 'float32' || dtype === 'float64') && size > 0) {
    const inArena = takeArenaArray(dtype, size, zeroed);
    if (inArena) return inArena;
  }
  const recycled = pooled.get(dtype)?.get(size)?.pop();
  if (!recycled) return hostArrayFor(dtype, size);
  pooledBytes -= recycled.byteLength;
  if (zeroed) recycled.fill(0);
  return recycled;
}

/** Hands back the array of a freed storage; nothing may use it afterwards. */
export function giveArray(dtype: DType, array: HostArray): void {
  const arena = cpuArena();
  if (arena && array.buffer === arena.buffer) {
    if (unreachableBlocks.unregister(array)) arena.give(array.byteOffset, array.byteLength);
    return;
  }
  const bytes = array.length * DTYPE_BYTES[dtype];
  if (bytes < MIN_POOLED_BYTES || pooledBytes + bytes > MAX_POOLED_BYTES) return;
  let bySize = pooled.get(dtype);
  if (!bySize) {
    bySize = new Map();
    pooled.set(dtype, bySize);
  }
  const stack = bySize.get(array.length);
  if (stack) stack.push(array);
  else bySize.set(array.length, [array]);
  pooledBytes += bytes;
}

/** Bytes held for reuse, in the pool and the arena's free lists (not counted by any memory tracker). */
export function pooledArrayBytes(): number {
  return pooledBytes + (cpuArena()?.freeBytes ?? 0);
}

/** Blocks handed out as arena views: returned to the arena when their view is collected unfreed. */
const unreachableBlocks = new FinalizationRegistry<{ offset: number; bytes: number }>(({ offset, bytes }) =>
  cpuArena()?.give(offset, bytes),
);

/** A view of an arena block, or null where there is no arena or it is full. */
function takeArenaArray(dtype: 'float32' | 'float64', size: number, zeroed: boolean): HostArray | null {
  const arena = cpuArena();
  const block = arena?.take(size * DTYPE_BYTES[dtype]);
  if (!arena || !block) return null;
  const array =
    dtype === 'float32'
      ? new Float32Array(arena.buffer, block.offset, size)
      : new Float64Array(arena.buffer, block.offset, size);
  // A fresh block is zeros already (never handed out before).
  if (zeroed && block.recycled) array.fill(0);
  unreachableBlocks.register(array, { offset: block.offset, bytes: array.byteLength }, array);
  return array;
}
