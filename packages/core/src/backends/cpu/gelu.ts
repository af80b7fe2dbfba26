/** GELU in its exact erf form, x Phi(x) = x/2 (1 + erf(x / sqrt 2)), and its backward pass. */
import { normalCdf, normalPdf } from '../../kernels/erf.js';
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

export function gelu(x: CpuStorage, out: CpuStorage): void {
  const xv = readFloats(x);
  const target = openFloatOutput(out, precisionOf(x));
  const y = target.values;
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i] as number;
    y[i] = v * normalCdf(v);
  }
  target.commit();
}

/** d gelu(x)/dx = Phi(x) + x phi(x). */
export function geluBackward(x: CpuStorage, dy: CpuStorage, dx: CpuStorage): void {
  const xv = readFloats(x);
  const g = readFloats(dy);
  const target = openFloatOutput(dx, precisionOf(x, dy));
  const d = target.values;
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i] as number;
    d[i] = (g[i] as number) * (normalCdf(v) + v * normalPdf(v));
  }
  target.commit();
}
