/**
 * Float32 GEMM on the WebAssembly SIMD kernel: C (m x n at cOffset) += op(A) op(B).
 *
 * Goto's loop nest: for each NC-wide column block of C, all of op(B)'s rows for it are packed
 * once (in KC-deep chunks of NR-wide panels); for each MC-high row block, op(A) is packed (in
 * KC-deep chunks of MR-high panels) and the kernel accumulates every chunk into a float32
 * scratch block, which is then added into C once. Packing happens in JS, straight into the wasm
 * memory, and zero-pads partial panels so the kernel only ever sees whole tiles.
 *
 * Accumulation is float32 (four lanes per instruction), which is what the float32 compute
 * semantics of the Backend contract allow; float64 matmuls stay on the JS path.
 *
 * Block sizes (measured on a shared 2-core Zen 5 VM, 256..1024 cubes): the 32 x 256 chunk of A
 * (32 KiB) stays in L1/L2, the 256 x 1024 chunk of B (1 MiB) in L2, the 32 x 1024 scratch of C
 * (128 KiB) in L2. The wasm memory only grows (to about (32 + 1024) * k * 4 bytes) and is reused.
 */
import type { GemmProblem } from './gemm.js';
import { type LaneLayout, laneLayout, packPanels } from './gemm-pack.js';
import { gebpModuleBytes } from './gemm-wasm-kernel.js';
import { kernelLoader, reserveFloats } from './wasm-instance.js';

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 32;
const NC = 1024;

type Gebp = (
  aPtr: number,
  bPtr: number,
  cPtr: number,
  mPanels: number,
  nPanels: number,
  kc: number,
  ldcBytes: number,
) => void;

/** Compiles the kernel on first use; null where WebAssembly SIMD is unavailable. */
const loadKernel = kernelLoader(
  () => gebpModuleBytes({ mr: MR, nr: NR }, 16),
  (exports) => ({ gebp: exports.gebp as Gebp }),
);

export function simdGemmAvailable(): boolean {
  return loadKernel() !== null;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** Packs lanes [lane0, lane0 + lanes) as KC-deep chunks of `width`-lane panels starting at `base`. */
function packChunks(
  src: LaneLayout,
  lane0: number,
  lanes: number,
  k: number,
  width: number,
  heap: Float32Array,
  base: number,
) {
  const padded = roundUp(lanes, width);
  for (let pc = 0; pc < k; pc += KC)
    packPanels(src, [lane0, lanes], [pc, Math.min(KC, k - pc)], width, heap, base + padded * pc);
}

/** Runs the SIMD GEMM; returns false (doing nothing) where WebAssembly SIMD is unavailable. */
export function gemmSimd({ a, b, c, cOffset, cStride, m, n, k }: GemmProblem): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  if (m === 0 || n === 0 || k === 0) return true;
  const mcMax = roundUp(Math.min(MC, m), MR);
  const ncMax = roundUp(Math.min(NC, n), NR);
  // Float offsets of the three regions; each size is a multiple of 4 floats, keeping 16-byte alignment.
  const aBase = 0;
  const bBase = aBase + mcMax * k;
  const cBase = bBase + ncMax * k;
  let heap = reserveFloats(simd, cBase + mcMax * ncMax);
  const [aLanes, bLanes] = [laneLayout(a, 'a', m, k), laneLayout(b, 'b', n, k)];
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    const ncPad = roundUp(nc, NR);
    packChunks(bLanes, jc, nc, k, NR, heap, bBase);
    for (let ic = 0; ic < m; ic += MC) {
      const mc = Math.min(MC, m - ic);
      const mcPad = roundUp(mc, MR);
      packChunks(aLanes, ic, mc, k, MR, heap, aBase);
      heap.fill(0, cBase, cBase + mcPad * ncPad);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        simd.gebp((aBase + mcPad * pc) * 4, (bBase + ncPad * pc) * 4, cBase * 4, mcPad / MR, ncPad / NR, kc, ncPad * 4);
      }
      heap = simd.heap;
      for (let i = 0; i < mc; i++) {
        const from = cBase + i * ncPad;
        const to = cOffset + (ic + i) * (cStride ?? n) + jc;
        for (let j = 0; j < nc; j++) c[to + j] = (c[to + j] as number) + (heap[from + j] as number);
      }
    }
  }
  return true;
}
