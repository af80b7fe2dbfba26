/**
 * RMSNorm over the last axis and its backward pass. With `simd`, all-float32 storages whose rows
 * are whole four-float vectors run on the WebAssembly SIMD kernels (rmsnorm-simd.ts: float32
 * arithmetic, within the conformance tolerances of these loops). The JS loops split their row
 * reductions over four accumulators: one accumulator is a chain of dependent additions, four let
 * the CPU overlap them. Their sums stay in float64 at every precision.
 */
import type { KernelIO, KernelParams } from '../../backend.js';
import { type FloatValues, openFloatOutput, precisionOf, readFloats } from './numeric.js';
import { rmsNormBackwardSimd, rmsNormSimd } from './rmsnorm-simd.js';
import type { CpuStorage } from './storage.js';

export function rmsNorm(
  { x, weight, out, rstd }: KernelIO<'rmsNorm', CpuStorage>,
  { rows, cols, eps }: KernelParams<'rmsNorm'>,
  simd = false,
): void {
  const [xv, w, y, r] = [x.data, weight.data, out.data, rstd.data];
  const f32 = xv instanceof Float32Array && w instanceof Float32Array && y instanceof Float32Array;
  if (simd && f32 && r instanceof Float32Array && rmsNormSimd(xv, w, y, r, rows, cols, eps)) return;
  const precision = precisionOf(x, weight);
  const outTarget = openFloatOutput(out, precision);
  const rstdTarget = openFloatOutput(rstd, precision);
  const [xs, ws] = [readFloats(x), readFloats(weight)];
  normalizeRows(xs, ws, outTarget.values, rstdTarget.values, rows, cols, eps, precision === 'f32');
  outTarget.commit();
  rstdTarget.commit();
}

/** sum_j x[base + j]^2 over j < cols. */
function rowSumOfSquares(x: FloatValues, base: number, cols: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < cols; j += 4) {
    const a = x[base + j]!;
    const b = x[base + j + 1]!;
    const c = x[base + j + 2]!;
    const d = x[base + j + 3]!;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; j < cols; j++) s0 += x[base + j]! * x[base + j]!;
  return s0 + s1 + (s2 + s3);
}

function normalizeRows(
  x: FloatValues,
  w: FloatValues,
  y: FloatValues,
  rstd: FloatValues,
  rows: number,
  cols: number,
  eps: number,
  f32: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const exact = 1 / Math.sqrt(rowSumOfSquares(x, base, cols) / cols + eps);
    // The forward pass uses rstd as it will be stored, so backward sees the same factor.
    const factor = f32 ? Math.fround(exact) : exact;
    rstd[r] = factor;
    for (let j = 0; j < cols; j++) y[base + j] = x[base + j]! * factor * w[j]!;
  }
}

/**
 * With y_j = x_j r w_j and r = (mean(x^2) + eps)^(-1/2):
 *   dx_j = r (w_j dy_j - x_j r^2 mean_i(dy_i w_i x_i)),  dweight_j = sum over rows of dy_j x_j r.
 */
export function rmsNormBackward(
  io: KernelIO<'rmsNormBackward', CpuStorage>,
  { rows, cols }: KernelParams<'rmsNormBackward'>,
  simd = false,
): void {
  const { x, weight, rstd, dy, dx, dweight } = io;
  const precision = precisionOf(x, weight, rstd, dy);
  const dw = new Float64Array(cols);
  if (!(simd && backwardOnFloat32(io, dw, rows, cols))) {
    const dxTarget = openFloatOutput(dx, precision);
    const [xv, w, rv, g] = [readFloats(x), readFloats(weight), readFloats(rstd), readFloats(dy)];
    normalizeRowsBackward(xv, w, rv, g, dxTarget.values, dw, rows, cols);
    dxTarget.commit();
  }
  const dwTarget = openFloatOutput(dweight, precision);
  dwTarget.values.set(dw);
  dwTarget.commit();
}

/** The SIMD backward where every array but dweight's is float32; false where it does not apply. */
function backwardOnFloat32(
  { x, weight, rstd, dy, dx }: KernelIO<'rmsNormBackward', CpuStorage>,
  dw: Float64Array,
  rows: number,
  cols: number,
): boolean {
  const arrays = [x.data, weight.data, rstd.data, dy.data, dx.data];
  if (!arrays.every((a) => a instanceof Float32Array)) return false;
  const [xv, w, r, g, out] = arrays as Float32Array[] as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  return rmsNormBackwardSimd(xv, w, r, g, out, dw, rows, cols);
}

/** sum_j g[base + j] w[j] x[base + j]. */
function rowWeightedDot(g: FloatValues, w: FloatValues, x: FloatValues, base: number, cols: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < cols; j += 4) {
    s0 += g[base + j]! * w[j]! * x[base + j]!;
    s1 += g[base + j + 1]! * w[j + 1]! * x[base + j + 1]!;
    s2 += g[base + j + 2]! * w[j + 2]! * x[base + j + 2]!;
    s3 += g[base + j + 3]! * w[j + 3]! * x[base + j + 3]!;
  }
  for (; j < cols; j++) s0 += g[base + j]! * w[j]! * x[base + j]!;
  return s0 + s1 + (s2 + s3);
}

function normalizeRowsBackward(
  x: FloatValues,
  w: FloatValues,
  rstd: FloatValues,
  g: FloatValues,
  dx: FloatValues,
  dw: Float64Array,
  rows: number,
  cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const factor = rstd[r]!;
    const correction = (factor * factor * rowWeightedDot(g, w, x, base, cols)) / cols;
    for (let j = 0; j < cols; j++) {
      const xj = x[base + j]!;
      const gj = g[base + j]!;
      dx[base + j] = factor * (w[j]! * gj - xj * correction);
      dw[j] = dw[j]! + gj * xj * factor;
    }
  }
}
