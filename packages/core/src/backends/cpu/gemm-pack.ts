/**
 * Operand packing for the blocked GEMM kernels (gemm.ts in float64, gemm-wasm.ts in float32). A
 * block of "lanes" (rows of op(A), or columns of op(B)) is copied into panels `width` lanes wide,
 * depth-major and zero-padded to whole panels, so the micro-kernel reads both operands in order.
 */
import { type GemmOperand, rowStride } from './gemm.js';
import type { FloatValues } from './numeric.js';

/** Where lane l at depth p of an operand is stored: data[offset + l * laneStride + p * depthStride]. */
export interface LaneLayout {
  data: FloatValues;
  offset: number;
  laneStride: number;
  depthStride: number;
}

/**
 * The lanes of operand A (role 'a': rows of op(A), m x k) or B ('b': columns of op(B), k x n);
 * `lanes` is m or n. A lane is contiguous when A is stored as is or B is stored transposed.
 */
export function laneLayout(operand: GemmOperand, role: 'a' | 'b', lanes: number, k: number): LaneLayout {
  const laneMajor = (role === 'a') !== operand.transposed;
  const { data, offset } = operand;
  return laneMajor
    ? { data, offset, laneStride: rowStride(operand, k), depthStride: 1 }
    : { data, offset, laneStride: 1, depthStride: rowStride(operand, lanes) };
}

/**
 * Packs lanes [lane0, lane0 + lanes) at depths [depth0, depth0 + depth) into panels of `width`
 * lanes from out[at]: panel q holds lane q * width + i at depth p in out[at + (q * depth + p) * width + i].
 */
export function packPanels(
  src: LaneLayout,
  [lane0, lanes]: [number, number],
  [depth0, depth]: [number, number],
  width: number,
  out: FloatValues,
  at: number,
): void {
  const { data, offset, laneStride, depthStride } = src;
  for (let first = 0; first < lanes; first += width) {
    const filled = Math.min(width, lanes - first);
    const panel = at + first * depth;
    for (let p = 0; p < depth; p++) {
      const from = offset + (lane0 + first) * laneStride + (depth0 + p) * depthStride;
      const to = panel + p * width;
      for (let i = 0; i < filled; i++) out[to + i] = data[from + i * laneStride] as number;
      for (let i = filled; i < width; i++) out[to + i] = 0;
    }
  }
}
