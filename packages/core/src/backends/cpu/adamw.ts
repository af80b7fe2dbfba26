/**
 * In-place AdamW step, following PyTorch's definition (decoupled weight decay). At float32
 * precision it runs on WebAssembly SIMD with `simd` (adamw-simd.ts, float32 arithmetic), else on
 * the float32 JS loop (adamw-f32.ts, bit-identical to the generic loop below, which float64 runs).
 */
import type { AdamWParams } from '../../backend.js';
import { adamwFloat32 } from './adamw-f32.js';
import { adamwSimd } from './adamw-simd.js';
import { type FloatValues, openFloatOutput, type Precision, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

export function adamw(
  param: CpuStorage,
  grad: CpuStorage,
  m: CpuStorage,
  v: CpuStorage,
  params: AdamWParams,
  simd = false,
): void {
  const precision = precisionOf(param, grad, m, v);
  const g = readFloats(grad);
  const pTarget = openFloatOutput(param, precision, true);
  const mTarget = openFloatOutput(m, precision, true);
  const vTarget = openFloatOutput(v, precision, true);
  const arrays: [FloatValues, FloatValues, FloatValues, FloatValues] = [
    pTarget.values,
    g,
    mTarget.values,
    vTarget.values,
  ];
  // float32 storages (and 16-bit ones, decoded to float32) take a float32 loop, so a bf16 param
  // gets exactly the float32 update, rounded once on commit.
  if (arrays.every((a) => a instanceof Float32Array)) {
    const f32 = arrays as [Float32Array, Float32Array, Float32Array, Float32Array];
    if (!(simd && adamwSimd(...f32, params))) adamwFloat32(...f32, params);
  } else {
    adamwLoop(...arrays, precision, params);
  }
  pTarget.commit();
  mTarget.commit();
  vTarget.commit();
}

function adamwLoop(
  p: FloatValues,
  g: FloatValues,
  mv: FloatValues,
  vv: FloatValues,
  precision: Precision,
  params: AdamWParams,
): void {
  const { lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2 } = params;
  // Each intermediate a float32 kernel would hold in a register or store is rounded the same way.
  const round = rounder(precision);
  const decay = round(1 - lr * weightDecay);
  const stepSize = lr / biasCorrection1;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] as number;
    const mi = round(beta1 * (mv[i] as number) + (1 - beta1) * gi);
    const vi = round(beta2 * (vv[i] as number) + (1 - beta2) * gi * gi);
    mv[i] = mi;
    vv[i] = vi;
    const decayed = round((p[i] as number) * decay);
    p[i] = decayed - (stepSize * mi) / (Math.sqrt(vi / biasCorrection2) + eps);
  }
}
