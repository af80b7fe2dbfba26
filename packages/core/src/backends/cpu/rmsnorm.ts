/**
 * RMSNorm over the last axis and its backward pass. With `simd`, all-float32 storages whose rows
 * are whole four-float vectors run on the WebAssembly SIMD kernels (rmsnorm-simd.ts: float32
 * arithmetic, within the conformance tolerances of these loops); the JS loops sum in float64 at
 * every precision.
 */
import type { KernelIO, KernelParams } from '../../backend.js';
import { type FloatValues, float32Arrays, openFloatOutput, precisionOf, readFloats } from './numeric.js';
import { rmsNormBackwardSimd, rmsNormSimd } from './rmsnorm-simd.js';
import type { CpuStorage } from './storage.js';

export function rmsNorm(
  { x, weight, out, rstd }: KernelIO<'rmsNorm', CpuStorage>,
  { rows, cols, eps }: KernelParams<'rmsNorm'>,
  simd = false,
): void {
  const f32 = simd ? float32Arrays(x, weight, out, rstd) : null;
  if (f32 && rmsNormSimd(...f32, rows, cols, eps)) return;
  const precision = precisionOf(x, weight);
  const outTarget = openFloatOutput(out, precision);
  const rstdTarget = openFloatOutput(rstd, precision);
  const [xs, ws] = [readFloats(x), readFloats(weight)];
  normalizeRows(xs, ws, outTarget.values, rstdTarget.values, rows, cols, eps, precision === 'f32');
  outTarget.commit();
  rstdTarget.commit();
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
    let sumSquares = 0;
    for (let j = 0; j < cols; j++) sumSquares += x[base + j]! * x[base + j]!;
    const exact = 1 / Math.sqrt(sumSquares / cols + eps);
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
  const f32 = simd ? float32Arrays(x, weight, rstd, dy, dx) : null;
  if (!(f32 && rmsNormBackwardSimd(...f32, dw, rows, cols))) {
    const dxTarget = openFloatOutput(dx, precision);
    const [xv, w, rv, g] = [readFloats(x), readFloats(weight), readFloats(rstd), readFloats(dy)];
    normalizeRowsBackward(xv, w, rv, g, dxTarget.values, dw, rows, cols);
    dxTarget.commit();
  }
  const dwTarget = openFloatOutput(dweight, precision);
  dwTarget.values.set(dw);
  dwTarget.commit();
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
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += g[base + j]! * w[j]! * x[base + j]!;
    const correction = (factor * factor * dot) / cols;
    for (let j = 0; j < cols; j++) {
      const xj = x[base + j]!;
      const gj = g[base + j]!;
      dx[base + j] = factor * (w[j]! * gj - xj * correction);
      dw[j] = dw[j]! + gj * xj * factor;
    }
  }
}
