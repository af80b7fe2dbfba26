/**
 * Instantiates the generated WebAssembly SIMD kernel modules: with their own linear memory, which
 * the drivers grow and copy chunks through (`kernelLoader`), or importing the CPU storages' arena
 * to run in place (`arenaKernelLoader`, wasm-arena.ts). Engines without WebAssembly SIMD reject
 * the module at compile time; the callers then keep their JS kernels.
 */

import { cpuArena, type WasmArena } from './wasm-arena.js';

const PAGE_BYTES = 65536;

/** The slice of the WebAssembly API used here (the project's TypeScript lib has no DOM typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: Record<string, unknown> };
}

export interface WasmKernelInstance {
  exports: Record<string, unknown>;
  memory: WasmMemory;
  /** A float32 view of the whole memory; replaced when the memory grows. */
  heap: Float32Array;
}

/** The instance of `bytes`, or null where WebAssembly (or its SIMD) is unavailable. */
function instantiateKernel(bytes: Uint8Array, imports?: object): WasmKernelInstance | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  try {
    const instance = new wasm.Instance(new wasm.Module(bytes), imports);
    const memory = instance.exports.memory as WasmMemory;
    return { exports: instance.exports, memory, heap: new Float32Array(memory.buffer) };
  } catch {
    return null;
  }
}

/** Grows the memory to hold `floats` float32 values and returns the current heap view. */
export function reserveFloats(kernel: WasmKernelInstance, floats: number): Float32Array {
  const bytes = floats * 4;
  const have = kernel.memory.buffer.byteLength;
  if (bytes > have) {
    kernel.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    kernel.heap = new Float32Array(kernel.memory.buffer);
  }
  return kernel.heap;
}

/**
 * Float offsets of consecutive regions of the given sizes (in floats) starting at float `first`,
 * each rounded up to whole 16-byte vectors so every region stays aligned; `end` is where the last
 * one ends.
 */
export function regionOffsets(first: number, sizes: readonly number[]): { offsets: number[]; end: number } {
  const offsets: number[] = [];
  let at = first;
  for (const size of sizes) {
    offsets.push(at);
    at += Math.ceil(size / 4) * 4;
  }
  return { offsets, end: at };
}

/**
 * A getter that compiles `bytes()` on its first call and from then on returns that instance with
 * `bind`'s typed exports added, or null where WebAssembly SIMD is unavailable.
 */
export function kernelLoader<T extends object>(
  bytes: () => Uint8Array,
  bind: (exports: Record<string, unknown>) => T,
): () => (WasmKernelInstance & T) | null {
  let kernel: (WasmKernelInstance & T) | null | undefined;
  return () => {
    if (kernel === undefined) {
      const instance = instantiateKernel(bytes());
      kernel = instance && Object.assign(instance, bind(instance.exports));
    }
    return kernel;
  };
}

/**
 * Like kernelLoader, for a module that imports the CPU storages' arena (wasm-arena.ts) as its
 * memory, so it runs in place on arrays that live there; null where there is no arena or no
 * WebAssembly SIMD. The arena never grows (do not call reserveFloats on it); its first
 * ARENA_SCRATCH_BYTES are the scratch these calls share.
 */
export function arenaKernelLoader<T extends object>(
  bytes: () => Uint8Array,
  bind: (exports: Record<string, unknown>) => T,
): () => (WasmKernelInstance & T & { arena: WasmArena }) | null {
  let kernel: (WasmKernelInstance & T & { arena: WasmArena }) | null | undefined;
  return () => {
    if (kernel === undefined) {
      const arena = cpuArena();
      const instance = arena && instantiateKernel(bytes(), { env: { memory: arena.memory } });
      kernel = instance && arena && Object.assign(instance, bind(instance.exports), { arena });
    }
    return kernel;
  };
}
