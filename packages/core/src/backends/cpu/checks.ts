/** Argument checks shared by the CPU kernels: each failure names the kernel, what was expected and what came. */
import type { Backend, Storage } from '../../backend.js';
import { type DType, isFloating } from '../../dtype.js';
import { CpuStorage } from './storage.js';

export function describeStorage(s: Storage): string {
  return `${s.dtype}[${s.size}]`;
}

/** Narrows a Storage to a live CpuStorage owned by `backend`. */
export function cpuStorage(backend: Backend, s: Storage, kernel: string, role: string): CpuStorage {
  if (!(s instanceof CpuStorage)) {
    const from = (s as Partial<Storage> | undefined)?.backend?.name ?? typeof s;
    throw new TypeError(`${kernel}: ${role} must be a CPU storage; got one from backend "${from}"`);
  }
  if (s.backend !== backend) throw new Error(`${kernel}: ${role} belongs to another CpuBackend instance`);
  if (s.freed) throw new Error(`${kernel}: ${role} (storage #${s.id}, ${describeStorage(s)}) was already freed`);
  return s;
}

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
  if (!isFloating(s.dtype)) {
    throw new TypeError(`${kernel}: ${role} must be float32, float64, bfloat16 or float16; got ${s.dtype}`);
  }
}

export function expectDType(s: Storage, dtypes: readonly DType[], kernel: string, role: string): void {
  if (!dtypes.includes(s.dtype)) {
    throw new TypeError(`${kernel}: ${role} must be ${dtypes.join(' or ')}; got ${s.dtype}`);
  }
}

/** A non-negative integer count (rows, cols, batch...). */
export function expectCount(value: number, kernel: string, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${kernel}: ${name} must be a non-negative integer; got ${value}`);
  }
}

export function expectPositive(value: number, kernel: string, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${kernel}: ${name} must be a positive integer; got ${value}`);
  }
}

export function expectDistinct(a: Storage, b: Storage, kernel: string, roles: string): void {
  if (a === b) throw new Error(`${kernel}: ${roles} must be different storages (the kernel cannot run in place)`);
}
