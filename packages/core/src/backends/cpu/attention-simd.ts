/**
 * The attention row kernels of attention-wasm-kernel.ts on blocks that live in the kernel's own
 * memory: the score GEMMs write their blocks there directly (BLAS takes any Float32Array), so
 * nothing is copied in or out.
 */
import { attentionModuleBytes } from './attention-wasm-kernel.js';
import { kernelLoader, reserveFloats } from './wasm-instance.js';

type SoftmaxRows = (p: number, rows: number, stride: number, seen: number, firstVisible: number, scale: number) => void;
type SoftmaxBackwardRows = (p: number, dp: number, rows: number, stride: number, seen: number, scale: number) => void;

const loadKernel = kernelLoader(
  () => attentionModuleBytes(1),
  (exports) => ({
    softmaxRows: exports.softmaxRows as SoftmaxRows,
    softmaxBackwardRows: exports.softmaxBackwardRows as SoftmaxBackwardRows,
  }),
);

export function simdAttentionAvailable(): boolean {
  return loadKernel() !== null;
}

/** The scale at float 0; the blocks from float 4 (16-byte aligned). */
const BLOCKS_AT = 4;

/** Two blocks of `size` floats (a multiple of 4) in the kernel's memory, and the kernels on them. */
export interface SimdBlocks {
  p: Float32Array;
  dp: Float32Array;
  /** Softmax of rows of p (`stride` floats apart, a multiple of 4) as attention-wasm-kernel.ts. */
  softmax(rows: number, stride: number, seen: number, firstVisible: number): void;
  /** dp = p * (dp - rowsum(p * dp)) * scale on rows' first `seen` floats, rows `stride` floats apart. */
  backward(rows: number, stride: number, seen: number): void;
}

/** Blocks for a call with score scale `scale`, or null where WebAssembly SIMD is unavailable. */
export function simdBlocks(size: number, scale: number): SimdBlocks | null {
  const kernel = loadKernel();
  if (!kernel) return null;
  const heap = reserveFloats(kernel, BLOCKS_AT + 2 * size);
  heap[0] = scale;
  const [pAt, dpAt] = [BLOCKS_AT * 4, (BLOCKS_AT + size) * 4];
  return {
    p: heap.subarray(BLOCKS_AT, BLOCKS_AT + size),
    dp: heap.subarray(BLOCKS_AT + size, BLOCKS_AT + 2 * size),
    softmax: (rows, stride, seen, firstVisible) => kernel.softmaxRows(pAt, rows, stride / 4, seen, firstVisible, 0),
    backward: (rows, stride, seen) => kernel.softmaxBackwardRows(pAt, dpAt, rows, stride / 4, seen, 0),
  };
}
