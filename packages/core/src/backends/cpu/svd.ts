/**
 * Thin SVD by one-sided (Hestenes) Jacobi in float64: columns of W = A are rotated pairwise until
 * all are orthogonal; then the column norms are the singular values, the normalised columns the
 * left vectors, and the accumulated rotations the right vectors. It is accurate to float64
 * round-off relative to each singular value, which is well beyond what float32 callers need.
 *
 * Tall matrices (m >= 2n) are first reduced by QR so the rotations act on n x n columns.
 * Wide matrices are handled through the transpose. Left vectors whose singular value is zero
 * (rank-deficient input) are completed to an orthonormal set, so the result never has NaN.
 *
 * Sign convention: the largest-magnitude entry of each column of U is positive (the first such
 * entry on ties), with the matching row of Vᵀ flipped, so results are deterministic.
 */
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import { householderQr, rowMajorToColumnMajor } from './qr.js';
import type { CpuStorage } from './storage.js';

/**
 * Column pairs count as orthogonal when |cos angle| is below this; a dot product of length m
 * cannot be resolved much below m round-offs, so a tighter bound would only add sweeps.
 */
function orthogonalityTolerance(m: number): number {
  return Math.max(m, 4) * Number.EPSILON;
}
const MAX_SWEEPS = 80;
/** Singular values this far below the largest are treated as zero when building left vectors. */
const RELATIVE_ZERO = 2 ** -60;

export interface ColumnMajorSvd {
  /** m x k, column-major. */
  u: Float64Array;
  /** k, descending. */
  s: Float64Array;
  /** n x k, column-major (columns are right singular vectors). */
  v: Float64Array;
}

/** SVD of a column-major m x n matrix with m >= n (`w` is overwritten). */
function tallSvd(w: Float64Array, m: number, n: number): ColumnMajorSvd {
  if (m >= 2 * n && n > 0) {
    // A = Q R, R = Ur S Vᵀ  =>  U = Q Ur.
    const { q, r } = householderQr(w, m, n);
    const inner = jacobiSvd(r, n, n);
    return { u: multiplyColumnMajor(q, inner.u, m, n, n), s: inner.s, v: inner.v };
  }
  return jacobiSvd(w, m, n);
}

function jacobiSvd(w: Float64Array, m: number, n: number): ColumnMajorSvd {
  const v = new Float64Array(n * n);
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  const norms = new Float64Array(n);
  const tolerance = orthogonalityTolerance(m);
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    // Norms are recomputed each sweep and updated exactly-in-theory by each rotation in between.
    for (let j = 0; j < n; j++) norms[j] = dot(w, j * m, w, j * m, m);
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = norms[p] as number;
        const beta = norms[q] as number;
        const gamma = dot(w, p * m, w, q * m, m);
        if (gamma === 0 || Math.abs(gamma) <= tolerance * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // Rotation angle that zeroes the (p, q) entry of WᵀW (Rutishauser's stable formulas).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(w, p * m, q * m, m, c, s);
        rotate(v, p * n, q * n, n, c, s);
        norms[p] = alpha - t * gamma;
        norms[q] = beta + t * gamma;
      }
    }
    if (!rotated) break;
  }
  return normalise(w, v, m, n);
}

function dot(x: Float64Array, xAt: number, y: Float64Array, yAt: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += (x[xAt + i] as number) * (y[yAt + i] as number);
  return sum;
}

/** [x_p, x_q] <- [c x_p - s x_q, s x_p + c x_q]. */
function rotate(x: Float64Array, pAt: number, qAt: number, length: number, c: number, s: number): void {
  for (let i = 0; i < length; i++) {
    const xp = x[pAt + i] as number;
    const xq = x[qAt + i] as number;
    x[pAt + i] = c * xp - s * xq;
    x[qAt + i] = s * xp + c * xq;
  }
}

/** Sorts by descending norm, normalises columns into U (completing null ones) and permutes V. */
function normalise(w: Float64Array, v: Float64Array, m: number, n: number): ColumnMajorSvd {
  const sigma = new Float64Array(n);
  for (let j = 0; j < n; j++) sigma[j] = Math.sqrt(dot(w, j * m, w, j * m, m));
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => (sigma[y] as number) - (sigma[x] as number));
  const largest = n > 0 ? (sigma[order[0] as number] as number) : 0;
  const u = new Float64Array(m * n);
  const s = new Float64Array(n);
  const vOut = new Float64Array(n * n);
  const nullColumns: number[] = [];
  order.forEach((from, to) => {
    const value = sigma[from] as number;
    s[to] = value;
    vOut.set(v.subarray(from * n, from * n + n), to * n);
    if (value === 0 || value <= largest * RELATIVE_ZERO) {
      nullColumns.push(to);
      return;
    }
    for (let i = 0; i < m; i++) u[to * m + i] = (w[from * m + i] as number) / value;
  });
  completeOrthonormal(u, m, n, nullColumns);
  return { u, s, v: vOut };
}

/**
 * Fills the listed columns of the column-major m x n `u` with unit vectors orthogonal to every
 * other column: each starts from the basis vector e_i least represented so far (smallest row
 * norm of U, which maximises its residual) and is Gram-Schmidt orthogonalised twice.
 */
function completeOrthonormal(u: Float64Array, m: number, n: number, columns: readonly number[]): void {
  if (columns.length === 0) return;
  const filled = Array.from({ length: n }, (_, j) => !columns.includes(j));
  const rowNorm2 = new Float64Array(m);
  for (let j = 0; j < n; j++) {
    if (!filled[j]) continue;
    for (let i = 0; i < m; i++) rowNorm2[i] = (rowNorm2[i] as number) + (u[j * m + i] as number) ** 2;
  }
  for (const target of columns) {
    let pick = 0;
    for (let i = 1; i < m; i++) if ((rowNorm2[i] as number) < (rowNorm2[pick] as number)) pick = i;
    const at = target * m;
    u.fill(0, at, at + m);
    u[at + pick] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < n; j++) {
        if (!filled[j]) continue;
        const projection = dot(u, j * m, u, at, m);
        for (let i = 0; i < m; i++) u[at + i] = (u[at + i] as number) - projection * (u[j * m + i] as number);
      }
    }
    const norm = Math.sqrt(dot(u, at, u, at, m));
    for (let i = 0; i < m; i++) {
      const value = (u[at + i] as number) / norm;
      u[at + i] = value;
      rowNorm2[i] = (rowNorm2[i] as number) + value * value;
    }
    filled[target] = true;
  }
}

/** Column-major (rows x inner) times (inner x cols). */
function multiplyColumnMajor(
  x: Float64Array,
  y: Float64Array,
  rows: number,
  inner: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) {
    for (let p = 0; p < inner; p++) {
      const ypj = y[j * inner + p] as number;
      if (ypj === 0) continue;
      const xAt = p * rows;
      const oAt = j * rows;
      for (let i = 0; i < rows; i++) out[oAt + i] = (out[oAt + i] as number) + (x[xAt + i] as number) * ypj;
    }
  }
  return out;
}

/** Flips (u column, v column) pairs so each u column's largest-magnitude entry is positive. */
function fixSigns(u: Float64Array, v: Float64Array, uRows: number, vRows: number, k: number): void {
  for (let j = 0; j < k; j++) {
    let best = 0;
    let bestAbs = -1;
    for (let i = 0; i < uRows; i++) {
      const magnitude = Math.abs(u[j * uRows + i] as number);
      if (magnitude > bestAbs) {
        bestAbs = magnitude;
        best = u[j * uRows + i] as number;
      }
    }
    if (best >= 0) continue;
    for (let i = 0; i < uRows; i++) u[j * uRows + i] = -(u[j * uRows + i] as number);
    for (let i = 0; i < vRows; i++) v[j * vRows + i] = -(v[j * vRows + i] as number);
  }
}

/** Thin SVD of a row-major m x n matrix; returns column-major U (m x k), S and V (n x k). */
export function thinSvd(values: ArrayLike<number>, m: number, n: number): ColumnMajorSvd {
  let result: ColumnMajorSvd;
  if (m >= n) {
    result = tallSvd(rowMajorToColumnMajor(values, m, n), m, n);
  } else {
    // Aᵀ (n x m, tall) = U' S V'ᵀ  =>  A = V' S U'ᵀ. Aᵀ column-major is A row-major.
    const transposed = tallSvd(Float64Array.from(values), n, m);
    result = { u: transposed.v, s: transposed.s, v: transposed.u };
  }
  fixSigns(result.u, result.v, m, n, Math.min(m, n));
  return result;
}

export function svd(a: CpuStorage, m: number, n: number, u: CpuStorage, s: CpuStorage, vt: CpuStorage): void {
  const k = Math.min(m, n);
  const input = readFloats(a);
  for (let i = 0; i < input.length; i++) {
    if (!Number.isFinite(input[i] as number))
      throw new RangeError(`svd: a[${i}] is ${input[i]}; SVD needs finite input`);
  }
  const result = thinSvd(input, m, n);
  const precision = precisionOf(a);
  const uOut = openFloatOutput(u, precision);
  // Column-major m x k U is row-major via out[i * k + j] = u[j * m + i].
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) uOut.values[i * k + j] = result.u[j * m + i] as number;
  uOut.commit();
  const sOut = openFloatOutput(s, precision);
  sOut.values.set(result.s);
  sOut.commit();
  // Vᵀ row j is column j of V, contiguous in the column-major result.
  const vtOut = openFloatOutput(vt, precision);
  vtOut.values.set(result.v.subarray(0, k * n));
  vtOut.commit();
}
