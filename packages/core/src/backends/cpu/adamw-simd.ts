/**
 * Runs the AdamW update of adamw-wasm-kernel.ts on float32 arrays, CHUNK elements at a time
 * through the wasm memory (simd-chunks.ts).
 */
import type { AdamWParams } from '../../backend.js';
import { ADAMW_CONSTANTS, adamwModuleBytes } from './adamw-wasm-kernel.js';
import { inChunks } from './simd-chunks.js';
import { kernelLoader } from './wasm-instance.js';

const CHUNK = 4096;

type AdamWUpdate = (p: number, g: number, m: number, v: number, vectors: number) => void;

/** Compiles the kernel on first use (the constants and four regions of CHUNK floats fit in two 64 KiB pages). */
const loadKernel = kernelLoader(
  () => adamwModuleBytes(2),
  (exports) => ({ adamw: exports.adamw as AdamWUpdate }),
);

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
  const heap = simd.heap;
  // In ADAMW_CONSTANT_ORDER.
  heap.set([
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    1 - lr * weightDecay,
    lr / biasCorrection1,
    1 / Math.sqrt(biasCorrection2),
    eps,
  ]);
  const region = (index: number) => (ADAMW_CONSTANTS + index * CHUNK) * 4;
  const plan = {
    heap,
    base: ADAMW_CONSTANTS,
    chunk: CHUNK,
    arrays: [p, g, m, v],
    read: [0, 1, 2, 3],
    written: [0, 2, 3],
  };
  inChunks(plan, (vectors) => simd.adamw(region(0), region(1), region(2), region(3), vectors));
  return true;
}
