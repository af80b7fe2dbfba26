/**
 * Single-matrix GEMM on float arrays: C (m x n, row-major at cOffset) += op(A) op(B), or = when
 * the problem says `overwrite`. Rows of A, B and C may lie apart (a leading dimension, as BLAS's),
 * so one head of a [batch, seq, heads, dim] tensor is an operand without a copy.
 *
 * Four paths: an unpacked loop for small problems, the machine's BLAS when the backend found one
 * (blas.ts), the WebAssembly SIMD kernel (gemm-wasm.ts) for float32 precision, and the JS blocked
 * kernel below for float64 (and wherever WebAssembly SIMD is missing). The JS kernel follows the
 * Goto/BLIS structure: a kc x n slab of B is packed into NR-wide column panels, an mc x kc block
 * of A into MR-high row panels (both zero-padded to whole panels; gemm-pack.ts), and a 4 x 4
 * micro-kernel multiplies one A panel by one B panel, a row at a time in scalar accumulators.
 * Panels are Float64Array so the inner loop does no conversions, and A panel + B panel
 * (2 x 8 KiB at kc = 256) stay in L1 while the block of A stays in L2.
 */
import { gemmBlas } from './blas.js';
import type { BlasLibrary } from './blas-loader.js';
import { laneLayout, packPanels } from './gemm-pack.js';
import { gemmSimd } from './gemm-wasm.js';
import type { FloatValues, Precision } from './numeric.js';

export interface GemmOperand {
  data: FloatValues;
  offset: number;
  /** Stored transposed: A as k x m, B as n x k. */
  transposed: boolean;
  /** Distance between consecutive stored rows (BLAS's leading dimension); default: dense rows. */
  stride?: number;
}

/** The stored row stride of operand `x` whose stored rows are `width` long when dense. */
export function rowStride(x: GemmOperand, width: number): number {
  return x.stride ?? width;
}

/** One product: C (m x n, row-major at cOffset) += op(A) op(B); `overwrite` ignores C's old values. */
export interface GemmProblem {
  a: GemmOperand;
  b: GemmOperand;
  c: FloatValues;
  cOffset: number;
  /** Distance between C's rows; default n. */
  cStride?: number;
  m: number;
  n: number;
  k: number;
  overwrite?: boolean;
}

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;

/** Problems smaller than this many multiply-adds skip packing, which would cost more than it saves. */
export const SMALL_GEMM_VOLUME = 16_384;

/**
 * Picks the path: small problems unpacked; then `blas` when given and the arrays suit it; float32
 * precision on the WebAssembly SIMD kernel (float32 accumulation, several times faster); float64,
 * or no SIMD support, on the JS kernel.
 */
export function gemm(p: GemmProblem, precision: Precision, blas: BlasLibrary | null = null): void {
  const { m, n, k } = p;
  if (m * n * k > SMALL_GEMM_VOLUME && blas && gemmBlas(blas, p, precision)) return;
  // The other paths accumulate: clear C first when it is to be overwritten.
  if (p.overwrite) clearRows(p);
  if (m === 0 || n === 0 || k === 0) return;
  if (m * n * k <= SMALL_GEMM_VOLUME) gemmDirect(p);
  else if (precision === 'f64' || !gemmSimd(p)) gemmBlocked(p);
}

function clearRows({ c, cOffset, cStride, m, n }: GemmProblem): void {
  const ldc = cStride ?? n;
  if (ldc === n) c.fill(0, cOffset, cOffset + m * n);
  else for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
}

/** Unblocked i-p-j loop with contiguous inner rows; used for small problems (and as a second path in tests). */
export function gemmDirect({ a, b, c, cOffset, cStride, m, n, k }: GemmProblem): void {
  const A = a.data;
  const B = b.data;
  // op(A)[i, p] = A[aRow * i + aCol * p]; op(B)[p, j] = B[bRow * p + bCol * j].
  const aRow = a.transposed ? 1 : rowStride(a, k);
  const aCol = a.transposed ? rowStride(a, m) : 1;
  const bRow = b.transposed ? 1 : rowStride(b, n);
  const bCol = b.transposed ? rowStride(b, k) : 1;
  const ldc = cStride ?? n;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = A[a.offset + i * aRow + p * aCol] as number;
      if (aip === 0) continue;
      let at = b.offset + p * bRow;
      for (let j = 0; j < n; j++) {
        row[j] = (row[j] as number) + aip * (B[at] as number);
        at += bCol;
      }
    }
    const base = cOffset + i * ldc;
    for (let j = 0; j < n; j++) c[base + j] = (c[base + j] as number) + (row[j] as number);
  }
}

/** Scratch panels reused across calls (grown on demand) so large matmuls allocate nothing. */
let aPanel = new Float64Array(MC * KC);
let bPanel = new Float64Array(KC * 64);
const edgeTile = new Float64Array(MR * NR);

export function gemmBlocked({ a, b, c, cOffset, cStride, m, n, k }: GemmProblem): void {
  const ldc = cStride ?? n;
  const nPanels = Math.ceil(n / NR);
  if (bPanel.length < KC * nPanels * NR) bPanel = new Float64Array(KC * nPanels * NR);
  if (aPanel.length < MC * KC) aPanel = new Float64Array(MC * KC);
  const ap = aPanel;
  const bp = bPanel;
  const [aLanes, bLanes] = [laneLayout(a, 'a', m, k), laneLayout(b, 'b', n, k)];
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    packPanels(bLanes, [0, n], [pc, kc], NR, bp, 0);
    for (let ic = 0; ic < m; ic += MC) {
      const mc = Math.min(MC, m - ic);
      packPanels(aLanes, [ic, mc], [pc, kc], MR, ap, 0);
      for (let jp = 0; jp < nPanels; jp++) {
        const j0 = jp * NR;
        const nr = Math.min(NR, n - j0);
        const bAt = jp * kc * NR;
        for (let i0 = 0; i0 < mc; i0 += MR) {
          const mr = Math.min(MR, mc - i0);
          const cAt = cOffset + (ic + i0) * ldc + j0;
          if (mr === MR && nr === NR) {
            microKernel4x4(ap, i0 * kc, bp, bAt, kc, c, cAt, ldc);
          } else {
            edgeTile.fill(0);
            microKernel4x4(ap, i0 * kc, bp, bAt, kc, edgeTile, 0, NR);
            for (let i = 0; i < mr; i++) {
              for (let j = 0; j < nr; j++) {
                c[cAt + i * ldc + j] = (c[cAt + i * ldc + j] as number) + (edgeTile[i * NR + j] as number);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * c[4 x 4 at cAt, row stride ldc] += A panel (kc x 4) times B panel (kc x 4), a row of C at a time
 * with four accumulators (each sum runs over p in order, as an unpacked loop would).
 */
function microKernel4x4(
  ap: Float64Array,
  aAt: number,
  bp: Float64Array,
  bAt: number,
  kc: number,
  c: FloatValues,
  cAt: number,
  ldc: number,
): void {
  for (let i = 0; i < MR; i++) {
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    for (let p = 0, ai = aAt + i, bi = bAt; p < kc; p++, ai += MR, bi += NR) {
      const x = ap[ai] as number;
      c0 += x * (bp[bi] as number);
      c1 += x * (bp[bi + 1] as number);
      c2 += x * (bp[bi + 2] as number);
      c3 += x * (bp[bi + 3] as number);
    }
    const r = cAt + i * ldc;
    c[r] = (c[r] as number) + c0;
    c[r + 1] = (c[r + 1] as number) + c1;
    c[r + 2] = (c[r + 2] as number) + c2;
    c[r + 3] = (c[r + 3] as number) + c3;
  }
}
