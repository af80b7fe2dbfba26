/**
 * Runs the SwiGLU kernels of silu-wasm-kernel.ts on float32 arrays: in place where all of them
 * live in the storages' arena, else CHUNK elements at a time through the wasm memory
 * (simd-chunks.ts).
 */

import { siluModuleBytes } from './silu-wasm-kernel.js';
import { inChunks } from './simd-chunks.js';
import { arenaKernelLoader, kernelLoader } from './wasm-instance.js';

const CHUNK = 4096;
const CHUNK_BYTES = CHUNK * 4;

type SiluMul = (g: number, u: number, y: number, vectors: number) => void;
type SiluMulBackward = (g: number, u: number, dy: number, dg: number, du: number, vectors: number) => void;

const bind = (exports: Record<string, unknown>) => ({
  siluMul: exports.siluMul as SiluMul,
  siluMulBackward: exports.siluMulBackward as SiluMulBackward,
});
/** Compiles the kernels on first use (five regions of CHUNK floats fit in two 64 KiB pages). */
const loadKernel = kernelLoader(() => siluModuleBytes(2), bind);
/** The same kernels on the arena. */
const loadArenaKernel = arenaKernelLoader(() => siluModuleBytes(1, 'imported'), bind);

export function simdSiluAvailable(): boolean {
  return loadKernel() !== null;
}

/** y = silu(g) u; false (doing nothing) where WebAssembly SIMD is unavailable. */
export function siluMulSimd(g: Float32Array, u: Float32Array, y: Float32Array): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  const plan = { heap: simd.heap, base: 0, chunk: CHUNK, arrays: [g, u, y], read: [0, 1], written: [2] };
  const inArena = loadArenaKernel();
  const inPlace = inArena && {
    buffer: inArena.arena.buffer,
    compute: ([g, u, y]: readonly number[], vectors: number) => inArena.siluMul(g!, u!, y!, vectors),
  };
  inChunks(plan, (vectors) => simd.siluMul(0, CHUNK_BYTES, 2 * CHUNK_BYTES, vectors), inPlace);
  return true;
}

/** The backward pass into dg and du; false (doing nothing) where WebAssembly SIMD is unavailable. */
export function siluMulBackwardSimd(
  g: Float32Array,
  u: Float32Array,
  dy: Float32Array,
  dg: Float32Array,
  du: Float32Array,
): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  const plan = { heap: simd.heap, base: 0, chunk: CHUNK, arrays: [g, u, dy, dg, du], read: [0, 1, 2], written: [3, 4] };
  const inArena = loadArenaKernel();
  const inPlace = inArena && {
    buffer: inArena.arena.buffer,
    compute: ([g, u, dy, dg, du]: readonly number[], vectors: number) =>
      inArena.siluMulBackward(g!, u!, dy!, dg!, du!, vectors),
  };
  inChunks(
    plan,
    (vectors) => simd.siluMulBackward(0, CHUNK_BYTES, 2 * CHUNK_BYTES, 3 * CHUNK_BYTES, 4 * CHUNK_BYTES, vectors),
    inPlace,
  );
  return true;
}
