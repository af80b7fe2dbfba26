/**
 * One WebAssembly.Memory that holds the float32 and float64 CPU storages, so the SIMD kernels
 * that import it (wasm-instance.ts `arenaKernelLoader`) run in place on the storages' bytes, a
 * pointer being the array's byteOffset, instead of copying each array through their own memory a
 * chunk at a time (simd-chunks.ts). An array outside the arena (the arena full, disabled, or an
 * array the caller made) still takes the chunked path, so correctness never depends on it.
 *
 * The memory is created once at its full size and never grows: growing a non-shared memory
 * detaches its ArrayBuffer and with it every storage's typed array. (A shared memory keeps its
 * views across growth, but its buffer is a SharedArrayBuffer, which typed-array consumers such as
 * Buffer, structuredClone and transfer lists treat differently.) The OS commits pages only when
 * they are first touched, so an arena mostly unused costs address space, not memory.
 *
 * Size: GALORE_CPU_ARENA_MB (default 1024, 0 turns the arena off, at most 2048, so every
 * pointer stays below 2^31 and reads as a non-negative i32 in the kernels). The first 64 KiB are
 * scratch for the in-place kernel calls (their constants, broadcast values and per-row scalars);
 * kernels run one at a time, so they share it. The last 16 bytes stay unused: row kernels read an
 * array's last partial vector whole.
 *
 * Allocation: exact-size free lists (a training step allocates the same sizes every step) over a
 * bump pointer, every block 16-byte aligned; freed blocks stay resident for reuse.
 */

const PAGE_BYTES = 65536;
const ALIGN = 16;
export const ARENA_SCRATCH_BYTES = PAGE_BYTES;
const DEFAULT_MB = 1024;
const MAX_MB = 2048;

interface WasmMemoryApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
}

export class WasmArena {
  /** The memory kernels import. */
  readonly memory: { readonly buffer: ArrayBuffer };
  /** Its (never detached) buffer: an array lives in the arena when `array.buffer === arena.buffer`. */
  readonly buffer: ArrayBuffer;
  /** A float32 view of the whole memory, for the scratch area. */
  readonly heap: Float32Array;
  /** Block offsets by block size in bytes. */
  readonly #free = new Map<number, number[]>();
  #top = ARENA_SCRATCH_BYTES;
  #freeBytes = 0;

  constructor(memory: { readonly buffer: ArrayBuffer }) {
    this.memory = memory;
    this.buffer = memory.buffer;
    this.heap = new Float32Array(this.buffer);
  }

  /** An arena of `bytes` (whole 64 KiB pages, scratch included), or null where the engine refuses it. */
  static create(bytes: number): WasmArena | null {
    const wasm = (globalThis as { WebAssembly?: WasmMemoryApi }).WebAssembly;
    const pages = Math.ceil(bytes / PAGE_BYTES);
    if (!wasm || pages <= 1) return null;
    try {
      return new WasmArena(new wasm.Memory({ initial: pages, maximum: pages }));
    } catch {
      return null; // address space refused: the kernels keep their chunked copies
    }
  }

  /**
   * The byte offset of a block for `bytes` (> 0): a freed one of that size (old contents kept) with
   * `recycled` true, a fresh one (zeros), or null when the arena is full.
   */
  take(bytes: number): { offset: number; recycled: boolean } | null {
    const size = blockSize(bytes);
    const offset = this.#free.get(size)?.pop();
    if (offset !== undefined) {
      this.#freeBytes -= size;
      return { offset, recycled: true };
    }
    // One vector short of the end: row kernels read a row's last partial vector whole.
    if (this.#top + size > this.buffer.byteLength - ALIGN) return null;
    const fresh = this.#top;
    this.#top += size;
    return { offset: fresh, recycled: false };
  }

  /** Hands back the block at `offset` taken for `bytes`; nothing may use it afterwards. */
  give(offset: number, bytes: number): void {
    const size = blockSize(bytes);
    const list = this.#free.get(size);
    if (list) list.push(offset);
    else this.#free.set(size, [offset]);
    this.#freeBytes += size;
  }

  /** Bytes in free blocks, held for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Bytes never handed out yet. */
  get untouchedBytes(): number {
    return this.buffer.byteLength - ALIGN - this.#top;
  }
}

function blockSize(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}

/** The arena's size in bytes from GALORE_CPU_ARENA_MB; a value that is not a whole number of MiB in range is refused by name. */
export function arenaBytesFromEnv(setting = process.env.GALORE_CPU_ARENA_MB): number {
  if (setting === undefined || setting === '') return DEFAULT_MB * 2 ** 20;
  const mb = Number(setting);
  if (!/^\d+$/.test(setting.trim()) || mb > MAX_MB) {
    throw new Error(
      `GALORE_CPU_ARENA_MB must be a whole number of MiB from 0 (no arena) to ${MAX_MB}; got '${setting}'`,
    );
  }
  return mb * 2 ** 20;
}

let shared: WasmArena | null | undefined;

/** The process's arena, created on first use; null where it is turned off or could not be created. */
export function cpuArena(): WasmArena | null {
  if (shared === undefined) {
    const bytes = arenaBytesFromEnv();
    shared = bytes > 0 ? WasmArena.create(bytes) : null;
  }
  return shared;
}
