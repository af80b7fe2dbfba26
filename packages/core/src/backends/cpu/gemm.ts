/**
 * Single-matrix GEMM on float arrays: C (m x n, row-major at cOffset) += op(A) op(B), or = when
 * the problem says `overwrite`.
 *
 * Four paths: an unpacked loop for small problems, the machine's BLAS when the backend found one
 * (blas.ts), the WebAssembly SIMD kernel (gemm-wasm.ts) for float32 precision, and the JS blocked
 * kernel below for float64 (and wherever WebAssembly SIMD is missing). The JS kernel follows the
 * Goto/BLIS structure: a kc x n slab of B is packed into NR-wide column panels, an mc x kc block
 * of A into MR-high row panels (both zero-padded to whole panels), and a 4 x 4 register-tiled
 * micro-kernel multiplies one A panel by one B panel with sixteen scalar accumulators. Panels are
 * Float64Array so the inner loop does no conversions, and A panel + B panel (2 x 8 KiB at
 * kc = 256) stay in L1 while the block of A stays in L2.
 */
import { gemmBlas } from './blas.js';
import type { BlasLibrary } from './blas-loader.js';
import { gemmSimd } from './gemm-wasm.js';
import type { FloatValues, Precision } from './numeric.js';

export interface GemmOperand {
  data: FloatValues;
  offset: number;
  /** Stored transposed: A as k x m, B as n x k. */
  transposed: boolean;
}

/** One product: C (m x n, row-major at cOffset) += op(A) op(B); `overwrite` ignores C's old values. */
export interface GemmProblem {
  a: GemmOperand;
  b: GemmOperand;
  c: FloatValues;
  cOffset: number;
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
  if (p.overwrite) p.c.fill(0, p.cOffset, p.cOffset + m * n);
  if (m === 0 || n === 0 || k === 0) return;
  if (m * n * k <= SMALL_GEMM_VOLUME) gemmDirect(p);
  else if (precision === 'f64' || !gemmSimd(p)) gemmBlocked(p);
}

/** Unblocked i-p-j loop with contiguous inner rows; used for small problems (and as a second path in tests). */
export function gemmDirect({ a, b, c, cOffset, m, n, k }: GemmProblem): void {
  const A = a.data;
  const B = b.data;
  // op(A)[i, p] = A[aRow * i + aCol * p]; op(B)[p, j] = B[bRow * p + bCol * j].
  const aRow = a.transposed ? 1 : k;
  const aCol = a.transposed ? m : 1;
  const bRow = b.transposed ? 1 : n;
  const bCol = b.transposed ? k : 1;
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
    const base = cOffset + i * n;
    for (let j = 0; j < n; j++) c[base + j] = (c[base + j] as number) + (row[j] as number);
  }
}

/** Scratch panels reused across calls (grown on demand) so large matmuls allocate nothing. */
let aPanel = new Float64Array(MC * KC);
let bPanel = new Float64Array(KC * 64);
const edgeTile = new Float64Array(MR * NR);

export function gemmBlocked({ a, b, c, cOffset, m, n, k }: GemmProblem): void {
  const nPanels = Math.ceil(n / NR);
  if (bPanel.length < KC * nPanels * NR) bPanel = new Float64Array(KC * nPanels * NR);
  if (aPanel.length < MC * KC) aPanel = new Float64Array(MC * KC);
  const ap = aPanel;
  const bp = bPanel;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    packB(b, bp, pc, kc, n, k);
    for (let ic = 0; ic < m; ic += MC) {
      const mc = Math.min(MC, m - ic);
      packA(a, ap, ic, mc, pc, kc, m, k);
      for (let jp = 0; jp < nPanels; jp++) {
        const j0 = jp * NR;
        const nr = Math.min(NR, n - j0);
        const bAt = jp * kc * NR;
        for (let i0 = 0; i0 < mc; i0 += MR) {
          const mr = Math.min(MR, mc - i0);
          const cAt = cOffset + (ic + i0) * n + j0;
          if (mr === MR && nr === NR) {
            microKernel4x4(ap, i0 * kc, bp, bAt, kc, c, cAt, n);
          } else {
            edgeTile.fill(0);
            microKernel4x4(ap, i0 * kc, bp, bAt, kc, edgeTile, 0, NR);
            for (let i = 0; i < mr; i++) {
              for (let j = 0; j < nr; j++) {
                c[cAt + i * n + j] = (c[cAt + i * n + j] as number) + (edgeTile[i * NR + j] as number);
              }
            }
          }
        }
      }
    }
  }
}

/** Packs rows pc..pc+kc of op(B) into NR-wide panels: panel jp holds [p][j] at jp*kc*NR + p*NR + j. */
function packB(b: GemmOperand, out: Float64Array, pc: number, kc: number, n: number, k: number): void {
  const B = b.data;
  const nPanels = Math.ceil(n / NR);
  for (let jp = 0; jp < nPanels; jp++) {
    const j0 = jp * NR;
    const nr = Math.min(NR, n - j0);
    let o = jp * kc * NR;
    if (b.transposed) {
      // B is n x k: column j of op(B) is row j of B, contiguous in p.
      for (let j = 0; j < NR; j++) {
        if (j >= nr) {
          for (let p = 0; p < kc; p++) out[o + p * NR + j] = 0;
          continue;
        }
        const src = b.offset + (j0 + j) * k + pc;
        for (let p = 0; p < kc; p++) out[o + p * NR + j] = B[src + p] as number;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = b.offset + (pc + p) * n + j0;
        for (let j = 0; j < nr; j++) out[o + j] = B[src + j] as number;
        for (let j = nr; j < NR; j++) out[o + j] = 0;
        o += NR;
      }
    }
  }
}

/** Packs op(A)[ic..ic+mc, pc..pc+kc] into MR-high panels: panel ip holds [p][i] at ip*kc*MR + p*MR + i. */
function packA(
  a: GemmOperand,
  out: Float64Array,
  ic: number,
  mc: number,
  pc: number,
  kc: number,
  m: number,
  k: number,
): void {
  const A = a.data;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = Math.min(MR, mc - i0);
    const o = i0 * kc;
    if (a.transposed) {
      // A is k x m: row p of A holds op(A)[:, p], contiguous in i.
      for (let p = 0; p < kc; p++) {
        const src = a.offset + (pc + p) * m + ic + i0;
        const dst = o + p * MR;
        for (let i = 0; i < mr; i++) out[dst + i] = A[src + i] as number;
        for (let i = mr; i < MR; i++) out[dst + i] = 0;
      }
    } else {
      for (let i = 0; i < MR; i++) {
        if (i >= mr) {
          for (let p = 0; p < kc; p++) out[o + p * MR + i] = 0;
          continue;
        }
        const src = a.offset + (ic + i0 + i) * k + pc;
        for (let p = 0; p < kc; p++) out[o + p * MR + i] = A[src + p] as number;
      }
    }
  }
}

/** c[4 x 4 at cAt, row stride ldc] += A panel (kc x 4) times B panel (kc x 4). */
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
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0;
  let c20 = 0,
    c21 = 0,
    c22 = 0,
    c23 = 0;
  let c30 = 0,
    c31 = 0,
    c32 = 0,
    c33 = 0;
  let ai = aAt;
  let bi = bAt;
  for (let p = 0; p < kc; p++) {
    const b0 = bp[bi] as number;
    const b1 = bp[bi + 1] as number;
    const b2 = bp[bi + 2] as number;
    const b3 = bp[bi + 3] as number;
    let x = ap[ai] as number;
    c00 += x * b0;
    c01 += x * b1;
    c02 += x * b2;
    c03 += x * b3;
    x = ap[ai + 1] as number;
    c10 += x * b0;
    c11 += x * b1;
    c12 += x * b2;
    c13 += x * b3;
    x = ap[ai + 2] as number;
    c20 += x * b0;
    c21 += x * b1;
    c22 += x * b2;
    c23 += x * b3;
    x = ap[ai + 3] as number;
    c30 += x * b0;
    c31 += x * b1;
    c32 += x * b2;
    c33 += x * b3;
    ai += 4;
    bi += 4;
  }
  let r = cAt;
  c[r] = (c[r] as number) + c00;
  c[r + 1] = (c[r + 1] as number) + c01;
  c[r + 2] = (c[r + 2] as number) + c02;
  c[r + 3] = (c[r + 3] as number) + c03;
  r += ldc;
  c[r] = (c[r] as number) + c10;
  c[r + 1] = (c[r + 1] as number) + c11;
  c[r + 2] = (c[r + 2] as number) + c12;
  c[r + 3] = (c[r + 3] as number) + c13;
  r += ldc;
  c[r] = (c[r] as number) + c20;
  c[r + 1] = (c[r + 1] as number) + c21;
  c[r + 2] = (c[r + 2] as number) + c22;
  c[r + 3] = (c[r + 3] as number) + c23;
  r += ldc;
  c[r] = (c[r] as number) + c30;
  c[r + 1] = (c[r + 1] as number) + c31;
  c[r + 2] = (c[r + 2] as number) + c32;
  c[r + 3] = (c[r + 3] as number) + c33;
}
