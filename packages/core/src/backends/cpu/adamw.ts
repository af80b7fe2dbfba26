/** In-place AdamW step, following PyTorch's definition (decoupled weight decay). */
import type { AdamWParams } from '../../backend.js';
import { expectFloating, expectSize } from '../kernel-checks.js';
import { adamwFloat32 } from './adamw-f32.js';
import { openFloatOutput, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

const KERNEL = 'CpuBackend.adamw';

function checkHyperparameters(params: AdamWParams): void {
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RangeError(`${KERNEL}: ${name} must be a finite number; got ${value}`);
    }
  }
  for (const name of ['biasCorrection1', 'biasCorrection2'] as const) {
    if (!(params[name] > 0))
      throw new RangeError(`${KERNEL}: ${name} must be > 0 (it is 1 - beta^t); got ${params[name]}`);
  }
}

export function adamw(param: CpuStorage, grad: CpuStorage, m: CpuStorage, v: CpuStorage, params: AdamWParams): void {
  checkHyperparameters(params);
  const storages = { param, grad, m, v };
  for (const [role, s] of Object.entries(storages)) {
    expectFloating(s, KERNEL, role);
    expectSize(s, param.size, KERNEL, role, 'param.size');
  }
  if (new Set([param, grad, m, v]).size !== 4)
    throw new Error(`${KERNEL}: param, grad, m and v must be four different storages`);
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
