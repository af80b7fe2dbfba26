/** The SwiGLU activation silu(gate) * up and its backward pass. */
import { expFor } from './fast-exp.js';
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

export function siluMul(gate: CpuStorage, up: CpuStorage, out: CpuStorage): void {
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
): void {
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
