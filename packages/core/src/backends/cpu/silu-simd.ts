/**
 * Runs the SwiGLU kernels of silu-wasm-kernel.ts on float32 arrays. The arrays live in ordinary
 * JS memory, so each CHUNK of elements is copied into the wasm memory, computed there and copied
 * back; the copies are memcpy speed, small next to the exp they replace, and the chunk keeps the
 * working set (five arrays of 16 KiB) in L2.
 */
import { siluModuleBytes } from './silu-wasm-kernel.js';
import { instantiateKernel, type WasmKernelInstance } from './wasm-instance.js';

const CHUNK = 4096;
const CHUNK_BYTES = CHUNK * 4;

interface SiluKernel extends WasmKernelInstance {
  siluMul: (g: number, u: number, y: number, vectors: number) => void;
  siluMulBackward: (g: number, u: number, dy: number, dg: number, du: number, vectors: number) => void;
}

let kernel: SiluKernel | null | undefined;

/** Compiles the kernels on first use; null where WebAssembly SIMD is unavailable. */
function loadKernel(): SiluKernel | null {
  if (kernel !== undefined) return kernel;
  // Five regions of CHUNK floats fit in two 64 KiB pages.
  const instance = instantiateKernel(siluModuleBytes(2));
  kernel =
    instance &&
    Object.assign(instance, {
      siluMul: instance.exports.siluMul as SiluKernel['siluMul'],
      siluMulBackward: instance.exports.siluMulBackward as SiluKernel['siluMulBackward'],
    });
  return kernel;
}

export function simdSiluAvailable(): boolean {
  return loadKernel() !== null;
}

/**
 * Copies chunks of `inputs` into regions 0.. of the wasm memory, runs `compute(vectors)` and
 * copies the regions after the inputs back into `outputs`.
 */
function inChunks(
  simd: SiluKernel,
  inputs: readonly Float32Array[],
  outputs: readonly Float32Array[],
  compute: (vectors: number) => void,
): void {
  const heap = simd.heap;
  const n = outputs[0]?.length ?? 0;
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    for (const [region, input] of inputs.entries()) heap.set(input.subarray(start, end), region * CHUNK);
    compute(Math.ceil((end - start) / 4));
    for (const [index, output] of outputs.entries()) {
      const from = (inputs.length + index) * CHUNK;
      output.set(heap.subarray(from, from + end - start), start);
    }
  }
}

/** y = silu(g) u; false (doing nothing) where WebAssembly SIMD is unavailable. */
export function siluMulSimd(g: Float32Array, u: Float32Array, y: Float32Array): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  inChunks(simd, [g, u], [y], (vectors) => simd.siluMul(0, CHUNK_BYTES, 2 * CHUNK_BYTES, vectors));
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
  inChunks(simd, [g, u, dy], [dg, du], (vectors) =>
    simd.siluMulBackward(0, CHUNK_BYTES, 2 * CHUNK_BYTES, 3 * CHUNK_BYTES, 4 * CHUNK_BYTES, vectors),
  );
  return true;
}
