/**
 * Thin Householder QR in float64. Matrices are column-major inside (columns contiguous, which is
 * how reflections walk them); the kernel converts from and to the row-major storages.
 *
 * Sign convention: R has a non-negative diagonal (columns of Q flipped to match), so every
 * backend returns the same factorisation, including for rank-deficient input.
 */
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

export interface ColumnMajorQr {
  /** m x n, orthonormal columns. */
  q: Float64Array;
  /** n x n upper-triangular. */
  r: Float64Array;
}

/** Factorises the column-major m x n matrix `a` (m >= n); `a` is overwritten. */
export function householderQr(a: Float64Array, m: number, n: number): ColumnMajorQr {
  // Reflector j is I - 2 v vᵀ acting on rows j..m-1; its unit vector is stored in vs[j*m + j ..].
  const vs = new Float64Array(m * n);
  const r = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const col = j * m;
    let norm2 = 0;
    for (let i = j; i < m; i++) norm2 += (a[col + i] as number) ** 2;
    const norm = Math.sqrt(norm2);
    const head = a[col + j] as number;
    if (norm > 0) {
      // alpha has the opposite sign of the head so v = x - alpha e1 suffers no cancellation.
      const alpha = head >= 0 ? -norm : norm;
      let vNorm2 = 0;
      for (let i = j; i < m; i++) {
        const vi = i === j ? head - alpha : (a[col + i] as number);
        vs[col + i] = vi;
        vNorm2 += vi * vi;
      }
      const scale = 1 / Math.sqrt(vNorm2);
      for (let i = j; i < m; i++) vs[col + i] = (vs[col + i] as number) * scale;
      reflect(vs, col, a, j, m, j, n);
    }
    for (let i = 0; i <= j; i++) r[j * n + i] = a[col + i] as number;
  }
  // Q = H0 H1 ... H(n-1) applied to the first n columns of the identity, innermost first.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * m + j] = 1;
  for (let j = n - 1; j >= 0; j--) reflect(vs, j * m, q, j, m, 0, n);
  makeDiagonalNonNegative(q, r, m, n);
  return { q, r };
}

/** Applies I - 2 v vᵀ (v = vs[vAt + j .. vAt + m)) to columns c0..c1-1 of the column-major `x`, rows j..m-1. */
function reflect(vs: Float64Array, vAt: number, x: Float64Array, j: number, m: number, c0: number, c1: number): void {
  for (let c = c0; c < c1; c++) {
    const col = c * m;
    let dot = 0;
    for (let i = j; i < m; i++) dot += (vs[vAt + i] as number) * (x[col + i] as number);
    if (dot === 0) continue;
    const twice = 2 * dot;
    for (let i = j; i < m; i++) x[col + i] = (x[col + i] as number) - twice * (vs[vAt + i] as number);
  }
}

function makeDiagonalNonNegative(q: Float64Array, r: Float64Array, m: number, n: number): void {
  for (let j = 0; j < n; j++) {
    if ((r[j * n + j] as number) >= 0) continue;
    // Row j of R lives at r[c * n + j] for columns c >= j.
    for (let c = j; c < n; c++) r[c * n + j] = -(r[c * n + j] as number);
    for (let i = 0; i < m; i++) q[j * m + i] = -(q[j * m + i] as number);
  }
}

export function rowMajorToColumnMajor(values: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = values[i * cols + j] as number;
  }
  return out;
}

export function columnMajorToRowMajor(
  values: Float64Array,
  rows: number,
  cols: number,
  out: { [i: number]: number },
): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[i * cols + j] = values[j * rows + i] as number;
  }
}

export function qr(a: CpuStorage, m: number, n: number, q: CpuStorage, r: CpuStorage): void {
  const factors = householderQr(rowMajorToColumnMajor(readFloats(a), m, n), m, n);
  const precision = precisionOf(a);
  const qOut = openFloatOutput(q, precision);
  columnMajorToRowMajor(factors.q, m, n, qOut.values);
  qOut.commit();
  const rOut = openFloatOutput(r, precision);
  columnMajorToRowMajor(factors.r, n, n, rOut.values);
  rOut.commit();
}
