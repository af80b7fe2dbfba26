/** Shared helpers for the CPU backend tests: storages from plain numbers and back. */
import { expect } from 'vitest';
import { CpuBackend, type CpuStorage } from '../../../src/backends/cpu/index.js';
import { type DType, fromNumbers, toNumberArray } from '../../../src/dtype.js';

export const backend = new CpuBackend();

export function storage(dtype: DType, values: ArrayLike<number>, on: CpuBackend = backend): CpuStorage {
  const s = on.alloc(values.length, dtype, 'other');
  on.write(s, fromNumbers(dtype, values));
  return s;
}

export function empty(dtype: DType, size: number, on: CpuBackend = backend): CpuStorage {
  return on.alloc(size, dtype, 'other');
}

/** The storage's elements as plain numbers (16-bit floats decoded). */
export function values(s: CpuStorage): number[] {
  return Array.from(toNumberArray(s.dtype, s.data.slice()));
}

/** Deterministic pseudo-random numbers in [-scale, scale) (a tiny LCG; tests need no crypto quality). */
export function randomValues(size: number, seed: number, scale = 1): number[] {
  let state = (seed * 2654435761 + 12345) >>> 0;
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out.push(((state / 2 ** 32) * 2 - 1) * scale);
  }
  return out;
}

/** Elementwise |actual - expected| <= abs + rel * |expected|, with the first failing index in the message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, abs: number, rel = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const ok = Math.abs(a - e) <= abs + rel * Math.abs(e);
    if (!ok) expect.fail(`element ${i}: got ${a}, expected ${e} (abs ${abs}, rel ${rel})`);
  }
}

/** Row-major contiguous strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d] as number;
  }
  return strides;
}

/** Multi-index of flat position `flat` in a row-major `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const extent = shape[d] as number;
    index[d] = flat % extent;
    flat = Math.floor(flat / extent);
  }
  return index;
}

export function dotIndex(index: readonly number[], strides: readonly number[]): number {
  let at = 0;
  for (let d = 0; d < index.length; d++) at += (index[d] as number) * (strides[d] as number);
  return at;
}

/** Central finite-difference gradient of a scalar function of `x` (float64). */
export function numericGradient(f: (x: number[]) => number, x: readonly number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[i] = (plus[i] as number) + h;
    minus[i] = (minus[i] as number) - h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}
