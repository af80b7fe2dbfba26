/**
 * The SwiGLU activation silu(gate) * up and its backward pass. With `simd`, all-float32 storages
 * run on the WebAssembly SIMD kernels (silu-simd.ts: float32 arithmetic, within the conformance
 * tolerances of this JS loop); everything else, and engines without SIMD, run the loops here.
 */
import { expFor } from './fast-exp.js';
import { float32Arrays, openFloatOutput, precisionOf, readFloats } from './numeric.js';
import { siluMulBackwardSimd, siluMulSimd } from './silu-simd.js';
import type { CpuStorage } from './storage.js';

export function siluMul(gate: CpuStorage, up: CpuStorage, out: CpuStorage, simd = false): void {
  const f32 = simd ? float32Arrays(gate, up, out) : null;
  if (f32 && siluMulSimd(...f32)) return;
  const g = readFloats(gate);
  const u = readFloats(up);
  const precision = precisionOf(gate, up);
  const exp = expFor(precision);
  const target = openFloatOutput(out, precision);
  const y = target.values;
  for (let i = 0; i < g.length; i++) {
    const gi = g[i] as number;
    y[i] = (gi / (1 + exp(-gi))) * (u[i] as number);
  }
  target.commit();
}

/** d silu(g)/dg = s (1 + g (1 - s)) with s = sigmoid(g). */
export function siluMulBackward(
  gate: CpuStorage,
  up: CpuStorage,
  dy: CpuStorage,
  dgate: CpuStorage,
  dup: CpuStorage,
  simd = false,
): void {
  const f32 = simd ? float32Arrays(gate, up, dy, dgate, dup) : null;
  if (f32 && siluMulBackwardSimd(...f32)) return;
  const g = readFloats(gate);
  const u = readFloats(up);
  const d = readFloats(dy);
  const precision = precisionOf(gate, up, dy);
  const exp = expFor(precision);
  const dgTarget = openFloatOutput(dgate, precision);
  const duTarget = openFloatOutput(dup, precision);
  const dg = dgTarget.values;
  const du = duTarget.values;
  for (let i = 0; i < g.length; i++) {
    const gi = g[i] as number;
    const s = 1 / (1 + exp(-gi));
    const ds = (d[i] as number) * s;
    dg[i] = ds * (u[i] as number) * (1 + gi * (1 - s));
    du[i] = ds * gi;
  }
  dgTarget.commit();
  duTarget.commit();
}
