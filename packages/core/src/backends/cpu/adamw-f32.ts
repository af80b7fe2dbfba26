/**
 * The AdamW update of adamw.ts specialised to float32 arrays: the same arithmetic and the same
 * float32 roundings, with Math.fround written inline (the generic loop calls its rounding through
 * a variable, which V8 does not inline), so results are bit-identical and the loop is faster.
 */
import type { AdamWParams } from '../../backend.js';

export function adamwFloat32(
  p: Float32Array,
  g: Float32Array,
  mv: Float32Array,
  vv: Float32Array,
  params: AdamWParams,
): void {
  const { lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2 } = params;
  const fround = Math.fround;
  const decay = fround(1 - lr * weightDecay);
  const stepSize = lr / biasCorrection1;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const mi = fround(beta1 * mv[i]! + (1 - beta1) * gi);
    const vi = fround(beta2 * vv[i]! + (1 - beta2) * gi * gi);
    mv[i] = mi;
    vv[i] = vi;
    const decayed = fround(p[i]! * decay);
    p[i] = decayed - (stepSize * mi) / (Math.sqrt(vi / biasCorrection2) + eps);
  }
}
