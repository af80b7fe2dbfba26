/**
 * Runs the RMSNorm kernels of rmsnorm-wasm-kernel.ts on float32 arrays: in place where they all
 * live in the storages' arena (wasm-arena.ts), else a chunk of whole rows at a time through the
 * wasm memory (the weight copied in once per call). The weight gradient is summed in float32
 * within a chunk and across chunks in float64, as the JS loop sums it, on either path.
 */
import { RMSNORM_CONSTANTS, rmsNormModuleBytes } from './rmsnorm-wasm-kernel.js';
import { inArena } from './simd-chunks.js';
import { ARENA_SCRATCH_BYTES } from './wasm-arena.js';
import { arenaKernelLoader, kernelLoader, regionOffsets, reserveFloats } from './wasm-instance.js';

/** Floats of x per chunk: with the other regions, a few hundred KiB, which stays in L2. */
const CHUNK = 16384;

type Forward = (x: number, w: number, y: number, rstd: number, rows: number, vectors: number) => void;
type Backward = (
  x: number,
  w: number,
  rstd: number,
  dy: number,
  dx: number,
  dw: number,
  rows: number,
  vectors: number,
) => void;

const bind = (exports: Record<string, unknown>) => ({
  forward: exports.rmsNorm as Forward,
  backward: exports.rmsNormBackward as Backward,
});
const loadKernel = kernelLoader(() => rmsNormModuleBytes(1), bind);
const loadArenaKernel = arenaKernelLoader(() => rmsNormModuleBytes(1, 'imported'), bind);

/**
 * The arena's kernels where every array lives in the arena and the written ones (indices
 * `written`) overlap no other; else null.
 */
function arenaKernelFor(arrays: readonly Float32Array[], written: readonly number[]) {
  const kernel = loadArenaKernel();
  return kernel && inArena(kernel.arena.buffer, arrays, written, false) ? kernel : null;
}

/** Rows per chunk, or 0 where the SIMD kernels do not apply (rows not whole vectors, or no SIMD). */
function chunkRows(rows: number, cols: number): number {
  if (cols === 0 || cols % 4 !== 0) return 0;
  return Math.max(1, Math.min(rows, Math.floor(CHUNK / cols)));
}

/** y and rstd of rmsNorm; false (doing nothing) where the SIMD kernel does not apply. */
export function rmsNormSimd(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  rstd: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): boolean {
  const chunk = chunkRows(rows, cols);
  if (chunk === 0) return false;
  const n = rows * cols;
  const arena =
    rows > 0 &&
    arenaKernelFor([x.subarray(0, n), w.subarray(0, cols), y.subarray(0, n), rstd.subarray(0, rows)], [2, 3]);
  if (arena) {
    arena.arena.heap[0] = 1 / cols;
    arena.arena.heap[1] = eps;
    arena.forward(x.byteOffset, w.byteOffset, y.byteOffset, rstd.byteOffset, rows, cols / 4);
    return true;
  }
  const simd = loadKernel();
  if (!simd) return false;
  const { offsets, end } = regionOffsets(RMSNORM_CONSTANTS, [cols, chunk * cols, chunk * cols, chunk]);
  const [W, X, Y, RSTD] = offsets as [number, number, number, number];
  const heap = reserveFloats(simd, end);
  heap[0] = 1 / cols;
  heap[1] = eps;
  heap.set(w, W);
  for (let first = 0; first < rows; first += chunk) {
    const n = Math.min(chunk, rows - first);
    heap.set(x.subarray(first * cols, (first + n) * cols), X);
    simd.forward(X * 4, W * 4, Y * 4, RSTD * 4, n, cols / 4);
    y.set(heap.subarray(Y, Y + n * cols), first * cols);
    rstd.set(heap.subarray(RSTD, RSTD + n), first);
  }
  return true;
}

/** dx of rmsNormBackward, and dweight added into `dw`; false (doing nothing) where the SIMD kernel does not apply. */
export function rmsNormBackwardSimd(
  x: Float32Array,
  w: Float32Array,
  rstd: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  dw: Float64Array,
  rows: number,
  cols: number,
): boolean {
  const chunk = chunkRows(rows, cols);
  if (chunk === 0) return false;
  if (backwardInArena(chunk, x, w, rstd, dy, dx, dw, rows, cols)) return true;
  const simd = loadKernel();
  if (!simd) return false;
  const { offsets, end } = regionOffsets(RMSNORM_CONSTANTS, [
    cols,
    chunk * cols,
    chunk * cols,
    chunk * cols,
    chunk,
    cols,
  ]);
  const [W, X, G, DX, RSTD, DW] = offsets as [number, number, number, number, number, number];
  const heap = reserveFloats(simd, end);
  heap[0] = 1 / cols;
  heap.set(w, W);
  for (let first = 0; first < rows; first += chunk) {
    const n = Math.min(chunk, rows - first);
    heap.set(x.subarray(first * cols, (first + n) * cols), X);
    heap.set(dy.subarray(first * cols, (first + n) * cols), G);
    heap.set(rstd.subarray(first, first + n), RSTD);
    heap.fill(0, DW, DW + cols);
    simd.backward(X * 4, W * 4, RSTD * 4, G * 4, DX * 4, DW * 4, n, cols / 4);
    dx.set(heap.subarray(DX, DX + n * cols), first * cols);
    for (let j = 0; j < cols; j++) dw[j] = dw[j]! + heap[DW + j]!;
  }
  return true;
}

/** rmsNormBackwardSimd in place, with the same chunks of rows; false where the arrays are not all in the arena. */
function backwardInArena(
  chunk: number,
  ...[x, w, rstd, dy, dx, dw, rows, cols]: Parameters<typeof rmsNormBackwardSimd>
): boolean {
  const n = rows * cols;
  // The chunk's float32 weight gradient goes to the scratch after the constants.
  const DW = RMSNORM_CONSTANTS;
  if (rows === 0 || DW + cols > ARENA_SCRATCH_BYTES / 4) return false;
  const arrays = [x.subarray(0, n), w.subarray(0, cols), rstd.subarray(0, rows), dy.subarray(0, n), dx.subarray(0, n)];
  const simd = arenaKernelFor(arrays, [4]);
  if (!simd) return false;
  const heap = simd.arena.heap;
  heap[0] = 1 / cols;
  for (let first = 0; first < rows; first += chunk) {
    const count = Math.min(chunk, rows - first);
    const at = first * cols * 4;
    heap.fill(0, DW, DW + cols);
    simd.backward(
      x.byteOffset + at,
      w.byteOffset,
      rstd.byteOffset + first * 4,
      dy.byteOffset + at,
      dx.byteOffset + at,
      DW * 4,
      count,
      cols / 4,
    );
    for (let j = 0; j < cols; j++) dw[j] = dw[j]! + heap[DW + j]!;
  }
  return true;
}
