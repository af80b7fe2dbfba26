/**
 * GEMM on the machine's BLAS: C (m x n, row-major at cOffset) += op(A) op(B) (or = with `overwrite`),
 * the same contract as gemm.ts. sgemm for float32 precision, dgemm for float64 (gradient
 * checks); mixed array types (a float64 output of a float32 computation, say) are left to the
 * built-in kernels, which convert as they pack.
 */
import { type BlasLibrary, CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS } from './blas-loader.js';
import { type GemmProblem, rowStride } from './gemm.js';
import type { FloatValues, Precision } from './numeric.js';

/** A view starting at `offset` (koffi passes a typed array as a pointer to its first element). */
function at<T extends FloatValues>(data: T, offset: number): T {
  return (offset === 0 ? data : data.subarray(offset)) as T;
}

/** Runs the product on `blas`; returns false (doing nothing) when the arrays do not suit it. */
export function gemmBlas(blas: BlasLibrary, p: GemmProblem, precision: Precision): boolean {
  const { a, b, c, cOffset, m, n, k } = p;
  const beta = p.overwrite ? 0 : 1;
  const ta = a.transposed ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const tb = b.transposed ? CBLAS_TRANS : CBLAS_NO_TRANS;
  // Leading dimensions of the operands as stored: A is m x k (k x m transposed), B k x n (n x k).
  const lda = rowStride(a, a.transposed ? m : k);
  const ldb = rowStride(b, b.transposed ? k : n);
  const ldc = p.cStride ?? n;
  const { data: A, offset: aOffset } = a;
  const { data: B, offset: bOffset } = b;
  const layout = [CBLAS_ROW_MAJOR, ta, tb, m, n, k, 1] as const;
  if (precision === 'f32' && A instanceof Float32Array && B instanceof Float32Array && c instanceof Float32Array) {
    blas.sgemm(...layout, at(A, aOffset), lda, at(B, bOffset), ldb, beta, at(c, cOffset), ldc);
    return true;
  }
  if (precision === 'f64' && A instanceof Float64Array && B instanceof Float64Array && c instanceof Float64Array) {
    blas.dgemm(...layout, at(A, aOffset), lda, at(B, bOffset), ldb, beta, at(c, cOffset), ldc);
    return true;
  }
  return false;
}
