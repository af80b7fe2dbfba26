/** The SwiGLU activation silu(gate) * up and its backward pass. */
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function siluMul(gate: CpuStorage, up: CpuStorage, out: CpuStorage): void {
  const g = readFloats(gate);
  const u = readFloats(up);
  const target = openFloatOutput(out, precisionOf(gate, up));
  const y = target.values;
  for (let i = 0; i < g.length; i++) {
    const gi = g[i] as number;
    y[i] = gi * sigmoid(gi) * (u[i] as number);
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
  const dgTarget = openFloatOutput(dgate, precision);
  const duTarget = openFloatOutput(dup, precision);
  const dg = dgTarget.values;
  const du = duTarget.values;
  for (let i = 0; i < g.length; i++) {
    const gi = g[i] as number;
    const s = sigmoid(gi);
    const di = d[i] as number;
    dg[i] = di * (u[i] as number) * s * (1 + gi * (1 - s));
    du[i] = di * gi * s;
  }
  dgTarget.commit();
  duTarget.commit();
}
