/**
 * Runs the AdamW update of adamw-wasm-kernel.ts on float32 arrays: in place where all four live
 * in the storages' arena, else CHUNK elements at a time through the wasm memory (simd-chunks.ts).
 */
import type { AdamWParams } from '../../backend.js';
import { ADAMW_CONSTANTS, adamwModuleBytes } from './adamw-wasm-kernel.js';
import { inChunks } from './simd-chunks.js';
import { arenaKernelLoader, kernelLoader } from './wasm-instance.js';

const CHUNK = 4096;

type AdamWUpdate = (p: number, g: number, m: number, v: number, vectors: number) => void;

const bind = (exports: Record<string, unknown>) => ({ adamw: exports.adamw as AdamWUpdate });
/** Compiles the kernel on first use (the constants and four regions of CHUNK floats fit in two 64 KiB pages). */
const loadKernel = kernelLoader(() => adamwModuleBytes(2), bind);
/** The same kernel on the arena (its constants in the arena's scratch). */
const loadArenaKernel = arenaKernelLoader(() => adamwModuleBytes(1, 'imported'), bind);

/** The in-place update; false (doing nothing) where WebAssembly SIMD is unavailable. */
export function adamwSimd(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  params: AdamWParams,
): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  const { lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2 } = params;
  // In ADAMW_CONSTANT_ORDER.
  const constants = [
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    1 - lr * weightDecay,
    lr / biasCorrection1,
    1 / Math.sqrt(biasCorrection2),
    eps,
  ];
  simd.heap.set(constants);
  const inArena = loadArenaKernel();
  inArena?.arena.heap.set(constants);
  const region = (index: number) => (ADAMW_CONSTANTS + index * CHUNK) * 4;
  const plan = {
    heap: simd.heap,
    base: ADAMW_CONSTANTS,
    chunk: CHUNK,
    arrays: [p, g, m, v],
    read: [0, 1, 2, 3],
    written: [0, 2, 3],
  };
  const inPlace = inArena && {
    buffer: inArena.arena.buffer,
    compute: ([p, g, m, v]: readonly number[], vectors: number) => inArena.adamw(p!, g!, m!, v!, vectors),
  };
  inChunks(plan, (vectors) => simd.adamw(region(0), region(1), region(2), region(3), vectors), inPlace);
  return true;
}
