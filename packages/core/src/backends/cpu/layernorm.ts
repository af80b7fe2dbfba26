/** LayerNorm with bias over the last axis and its backward pass. */
import type { KernelImpl } from '../base.js';
import { openFloatOutput, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

export const layerNorm: KernelImpl<'layerNorm', CpuStorage> = (io, { rows, cols, eps }) => {
  const { x, weight, bias, out, mean, rstd } = io;
  const precision = precisionOf(x, weight, bias);
  // out is computed from mean and rstd as they will be stored, so backward sees the same values.
  const round = rounder(precision);
  const xv = readFloats(x);
  const w = readFloats(weight);
  const b = readFloats(bias);
  const outTarget = openFloatOutput(out, precision);
  const meanTarget = openFloatOutput(mean, precision);
  const rstdTarget = openFloatOutput(rstd, precision);
  const y = outTarget.values;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += xv[base + j] as number;
    const mu = sum / cols;
    // Two passes: the variance from centred values does not cancel when |mean| >> std.
    let squares = 0;
    for (let j = 0; j < cols; j++) squares += ((xv[base + j] as number) - mu) ** 2;
    const m = round(mu);
    const factor = round(1 / Math.sqrt(squares / cols + eps));
    meanTarget.values[r] = m;
    rstdTarget.values[r] = factor;
    for (let j = 0; j < cols; j++) {
      y[base + j] = ((xv[base + j] as number) - m) * factor * (w[j] as number) + (b[j] as number);
    }
  }
  outTarget.commit();
  meanTarget.commit();
  rstdTarget.commit();
};

/**
 * With xhat = (x - mean) r, r = (var(x) + eps)^(-1/2) and g = dy w:
 *   dx = r (g - mean(g) - xhat mean(g xhat)),  dweight = sum over rows of dy xhat,  dbias = sum of dy.
 */
export const layerNormBackward: KernelImpl<'layerNormBackward', CpuStorage> = (io, { rows, cols }) => {
  const { x, weight, mean, rstd, dy, dx, dweight, dbias } = io;
  const precision = precisionOf(x, weight, mean, rstd, dy);
  const xv = readFloats(x);
  const w = readFloats(weight);
  const mv = readFloats(mean);
  const rv = readFloats(rstd);
  const g = readFloats(dy);
  const dxTarget = openFloatOutput(dx, precision);
  const out = dxTarget.values;
  const dw = new Float64Array(cols);
  const db = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const mu = mv[r] as number;
    const factor = rv[r] as number;
    let sumG = 0;
    let sumGXhat = 0;
    for (let j = 0; j < cols; j++) {
      const gj = (g[base + j] as number) * (w[j] as number);
      sumG += gj;
      sumGXhat += gj * ((xv[base + j] as number) - mu) * factor;
    }
    const meanG = sumG / cols;
    const meanGXhat = sumGXhat / cols;
    for (let j = 0; j < cols; j++) {
      const dyj = g[base + j] as number;
      const xhat = ((xv[base + j] as number) - mu) * factor;
      out[base + j] = factor * (dyj * (w[j] as number) - meanG - xhat * meanGXhat);
      dw[j] = (dw[j] as number) + dyj * xhat;
      db[j] = (db[j] as number) + dyj;
    }
  }
  dxTarget.commit();
  for (const [storage, sums] of [
    [dweight, dw],
    [dbias, db],
  ] as const) {
    const target = openFloatOutput(storage, precision);
    target.values.set(sums);
    target.commit();
  }
};
