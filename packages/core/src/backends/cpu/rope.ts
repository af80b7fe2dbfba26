/**
 * Rotary position embedding in the Hugging Face "rotate_half" layout, forward or inverse. With
 * `simd`, all-float32 storages whose half heads are whole four-float vectors run on the
 * WebAssembly SIMD kernel (rope-simd.ts: the same products, in float32 arithmetic).
 */
import type { RopeParams } from '../../backend.js';
import { float32Arrays, openFloatOutput, precisionOf, readFloats } from './numeric.js';
import { ropeSimd } from './rope-simd.js';
import type { CpuStorage } from './storage.js';

export function rope(
  x: CpuStorage,
  cos: CpuStorage,
  sin: CpuStorage,
  out: CpuStorage,
  params: RopeParams,
  simd = false,
): void {
  const f32 = simd ? float32Arrays(x, cos, sin, out) : null;
  if (f32 && ropeSimd(...f32, params)) return;
  const { batch, seq, heads, headDim, inverse } = params;
  const half = headDim / 2;
  const xv = readFloats(x);
  const c = readFloats(cos);
  const s = readFloats(sin);
  const target = openFloatOutput(out, precisionOf(x, cos, sin));
  const y = target.values;
  // The inverse rotation (RoPE's backward) is the same formula with sin negated.
  const sign = inverse ? -1 : 1;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const angle = t * half;
      for (let h = 0; h < heads; h++) {
        const base = ((b * seq + t) * heads + h) * headDim;
        for (let i = 0; i < half; i++) {
          const lo = xv[base + i] as number;
          const hi = xv[base + i + half] as number;
          const ci = c[angle + i] as number;
          const si = sign * (s[angle + i] as number);
          y[base + i] = lo * ci - hi * si;
          y[base + i + half] = hi * ci + lo * si;
        }
      }
    }
  }
  target.commit();
}
