/**
 * In-place AdamW step, following PyTorch's definition (decoupled weight decay). All-float32
 * storages run on WebAssembly SIMD with `simd` (adamw-simd.ts, float32 arithmetic), else on the
 * float32 JS loop (adamw-f32.ts, bit-identical to the generic loop below).
 */
import type { AdamWParams } from '../../backend.js';
import { adamwFloat32 } from './adamw-f32.js';
import { adamwSimd } from './adamw-simd.js';
import { openFloatOutput, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

export function adamw(
  param: CpuStorage,
  grad: CpuStorage,
  m: CpuStorage,
  v: CpuStorage,
  params: AdamWParams,
  simd = false,
): void {
  const data = [param.data, grad.data, m.data, v.data];
  if (data.every((d) => d instanceof Float32Array)) {
    const arrays = data as [Float32Array, Float32Array, Float32Array, Float32Array];
    if (!(simd && adamwSimd(...arrays, params))) adamwFloat32(...arrays, params);
    return;
  }
  const { lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2 } = params;
  const precision = precisionOf(param, grad, m, v);
  // Each intermediate a float32 kernel would hold in a register or store is rounded the same way.
  const round = rounder(precision);
  const decay = round(1 - lr * weightDecay);
  const stepSize = lr / biasCorrection1;
  const g = readFloats(grad);
  const pTarget = openFloatOutput(param, precision, true);
  const mTarget = openFloatOutput(m, precision, true);
  const vTarget = openFloatOutput(v, precision, true);
  const p = pTarget.values;
  const mv = mTarget.values;
  const vv = vTarget.values;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] as number;
    const mi = round(beta1 * (mv[i] as number) + (1 - beta1) * gi);
    const vi = round(beta2 * (vv[i] as number) + (1 - beta2) * gi * gi);
    mv[i] = mi;
    vv[i] = vi;
    const decayed = round((p[i] as number) * decay);
    p[i] = decayed - (stepSize * mi) / (Math.sqrt(vi / biasCorrection2) + eps);
  }
  pTarget.commit();
  mTarget.commit();
  vTarget.commit();
}
