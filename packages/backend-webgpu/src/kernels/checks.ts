/** Argument checks: each failure names the kernel, what was expected and what came. */
import type { DType, Storage } from '@galore-ts/core';

export function expectSize(s: Storage, size: number, kernel: string, role: string, formula?: string): void {
  if (s.size !== size) {
    const what = formula ? `${formula} = ${size}` : `${size}`;
    throw new RangeError(`${kernel}: ${role} has ${s.size} elements; expected ${what}`);
  }
}

export function expectAtLeast(s: Storage, size: number, kernel: string, role: string, formula?: string): void {
  if (s.size < size) {
    const what = formula ? `${formula} = ${size}` : `${size}`;
    throw new RangeError(`${kernel}: ${role} has ${s.size} elements; expected at least ${what}`);
  }
}

export function expectFloating(s: Storage, kernel: string, role: string): void {
  if (!(s.dtype === 'float32' || s.dtype === 'bfloat16' || s.dtype === 'float16')) {
    throw new TypeError(`${kernel}: ${role} must be float32, bfloat16 or float16; got ${s.dtype}`);
  }
}

export function expectDType(s: Storage, dtypes: readonly DType[], kernel: string, role: string): void {
  if (!dtypes.includes(s.dtype)) throw new TypeError(`${kernel}: ${role} must be ${dtypes.join(' or ')}; got ${s.dtype}`);
}

/** A non-negative safe integer (rows, cols, batch...). */
export function expectCount(value: number, kernel: string, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${kernel}: ${name} must be a non-negative integer; got ${value}`);
}

export function expectPositive(value: number, kernel: string, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${kernel}: ${name} must be a positive integer; got ${value}`);
}

/** Kernels that read an input after writing part of the output cannot take the same storage for both. */
export function expectDistinct(a: Storage, b: Storage, kernel: string, roles: string): void {
  if (a === b) throw new Error(`${kernel}: ${roles} must be different storages (the kernel cannot run in place)`);
}
