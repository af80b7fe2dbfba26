/** RMSNorm over the last axis and its backward pass. */
import type { KernelImpl } from '../base.js';
import { openFloatOutput, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

export const rmsNorm: KernelImpl<'rmsNorm', CpuStorage> = ({ x, weight, out, rstd }, { rows, cols, eps }) => {
  const precision = precisionOf(x, weight);
  // The forward pass uses rstd as it will be stored, so backward sees the same factor.
  const round = rounder(precision);
  const xv = readFloats(x);
  const w = readFloats(weight);
  const outTarget = openFloatOutput(out, precision);
  const rstdTarget = openFloatOutput(rstd, precision);
  const y = outTarget.values;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sumSquares = 0;
    for (let j = 0; j < cols; j++) {
      const v = xv[base + j] as number;
      sumSquares += v * v;
    }
    const factor = round(1 / Math.sqrt(sumSquares / cols + eps));
    rstdTarget.values[r] = factor;
    for (let j = 0; j < cols; j++) y[base + j] = (xv[base + j] as number) * factor * (w[j] as number);
  }
  outTarget.commit();
  rstdTarget.commit();
};

/**
 * With y_j = x_j r w_j and r = (mean(x^2) + eps)^(-1/2):
 *   dx_j = r (w_j dy_j - x_j r^2 mean_i(dy_i w_i x_i)),  dweight_j = sum over rows of dy_j x_j r.
 */
export const rmsNormBackward: KernelImpl<'rmsNormBackward', CpuStorage> = (io, { rows, cols }) => {
  const { x, weight, rstd, dy, dx, dweight } = io;
  const precision = precisionOf(x, weight, rstd, dy);
  const xv = readFloats(x);
  const w = readFloats(weight);
  const rv = readFloats(rstd);
  const g = readFloats(dy);
  const dxTarget = openFloatOutput(dx, precision);
  const out = dxTarget.values;
  const dw = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const factor = rv[r] as number;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += (g[base + j] as number) * (w[j] as number) * (xv[base + j] as number);
    const correction = (factor * factor * dot) / cols;
    for (let j = 0; j < cols; j++) {
      const xj = xv[base + j] as number;
      const gj = g[base + j] as number;
      out[base + j] = factor * ((w[j] as number) * gj - xj * correction);
      dw[j] = (dw[j] as number) + gj * xj * factor;
    }
  }
  dxTarget.commit();
  const dwTarget = openFloatOutput(dweight, precision);
  dwTarget.values.set(dw);
  dwTarget.commit();
};
