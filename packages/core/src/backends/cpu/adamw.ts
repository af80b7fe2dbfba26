/** In-place AdamW step, following PyTorch's definition (decoupled weight decay). */
import type { AdamWParams } from '../../backend.js';
import { adamwFloat32 } from './adamw-f32.js';
import { openFloatOutput, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

export function adamw(param: CpuStorage, grad: CpuStorage, m: CpuStorage, v: CpuStorage, params: AdamWParams): void {
  const data = [param.data, grad.data, m.data, v.data];
  if (data.every((d) => d instanceof Float32Array)) {
    adamwFloat32(...(data as [Float32Array, Float32Array, Float32Array, Float32Array]), params);
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
