/** Small tensor helpers shared by the optimizer tests (CPU backend, synchronous reads). */
import { type DType, type Tensor, tensor } from '../../src/index.js';

export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

export function param(
  data: readonly number[],
  shape: readonly number[] = [data.length],
  dtype: DType = 'float64',
): Tensor {
  return tensor(data, { shape, dtype }).requiresGrad_();
}

/** Replaces the gradient of `p` by a tensor holding `data` (in p's dtype unless told). */
export function setGrad(p: Tensor, data: readonly number[], dtype: DType = p.dtype): void {
  p.grad?.dispose();
  p.grad = tensor(data, { shape: p.shape, dtype });
}

/** Deterministic pseudo-random numbers in [-1, 1) for gradients (a small LCG; not the code under test). */
export function pseudoRandom(seed: number, count: number): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

/** |a - b| <= atol + rtol * |b| elementwise, with a message naming the first failing index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol = 0): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}
