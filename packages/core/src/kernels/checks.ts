/**
 * The one vocabulary of kernel argument checks. Every check takes the kernel's name first, then the
 * argument's name, and throws an error that names the kernel, the argument, what was expected and
 * what came. Kernel declarations (./core-kernels.ts, and packages that add kernels) use these; no
 * backend checks arguments itself.
 */
import type { Storage } from '../backend.js';
import { type DType, isFloating } from '../dtype.js';

/** Every floating dtype. A backend that cannot store one (WebGPU: float64) refuses it at `alloc`. */
export const FLOATING_DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16', 'float16'];

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  if (items.length < 2) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Whether `value` passes expectCount (for hot paths that build the argument's name only on failure). */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** A non-negative safe integer (a count, a dimension, an offset). */
export function expectCount(kernel: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${kernel}: ${name} must be a non-negative integer; got ${String(value)}`);
  }
  return value;
}

export function expectPositive(kernel: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${kernel}: ${name} must be a positive integer; got ${String(value)}`);
  }
  return value;
}

/** A safe integer, possibly negative (a stride, an offset that may point back). */
export function expectInteger(kernel: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new RangeError(`${kernel}: ${name} must be an integer; got ${String(value)}`);
  }
  return value;
}

export function expectFinite(kernel: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${kernel}: ${name} must be a finite number; got ${String(value)}`);
  }
  return value;
}

export function expectSize(kernel: string, role: string, s: Storage, size: number, formula?: string): void {
  if (s.size !== size) {
    const what = formula ? `${formula} = ${size}` : `${size}`;
    throw new RangeError(`${kernel}: ${role} has ${s.size} elements; expected ${what}`);
  }
}

export function expectAtLeast(kernel: string, role: string, s: Storage, size: number, formula: string): void {
  if (s.size < size) {
    throw new RangeError(`${kernel}: ${role} has ${s.size} elements; expected at least ${formula} = ${size}`);
  }
}

/** Storages read and written element by element: all the size of the first. */
export function expectSameSize(kernel: string, storages: Record<string, Storage>): void {
  let firstRole: string | undefined;
  for (const role in storages) {
    if (firstRole === undefined) firstRole = role;
    else if (storages[role]!.size !== storages[firstRole]!.size) {
      expectSize(kernel, role, storages[role]!, storages[firstRole]!.size, `${firstRole}.size`);
    }
  }
}

export function expectFloating(kernel: string, role: string, s: Storage): void {
  if (!isFloating(s.dtype))
    throw new TypeError(`${kernel}: ${role} must be ${orList(FLOATING_DTYPES)}; got ${s.dtype}`);
}

export function expectDType(kernel: string, role: string, s: Storage, dtypes: readonly DType[]): void {
  if (!dtypes.includes(s.dtype)) throw new TypeError(`${kernel}: ${role} must be ${orList(dtypes)}; got ${s.dtype}`);
}

/** Every storage of `storages` holds floats. */
export function expectFloats(kernel: string, storages: Record<string, Storage>): void {
  for (const role in storages) expectFloating(kernel, role, storages[role]!);
}

/** Kernels that read an input after writing part of the output cannot take the same storage for both. */
export function expectDistinct(kernel: string, storages: Record<string, Storage>): void {
  // Pairwise over a handful of roles: no Map or entry arrays on this per-call path.
  for (const role in storages) {
    for (const other in storages) {
      if (other === role) break;
      if (storages[other] === storages[role])
        throw new Error(`${kernel}: ${other} and ${role} must be different storages (the kernel cannot run in place)`);
    }
  }
}

/** Kernels that read every input while writing outputs: no output may be one of the inputs (inputs may repeat). */
export function expectOutputsApart(
  kernel: string,
  inputs: Record<string, Storage>,
  outputs: Record<string, Storage>,
): void {
  for (const input in inputs) {
    for (const output in outputs) {
      if (inputs[input] === outputs[output])
        throw new Error(
          `${kernel}: ${input} and ${output} must be different storages (the kernel cannot run in place)`,
        );
    }
  }
}

/** `op` is one of the keys of `known`. */
export function expectOp(kernel: string, op: unknown, known: object): void {
  if (typeof op !== 'string' || !Object.hasOwn(known, op)) {
    throw new TypeError(
      `${kernel}: unknown ${kernel} op ${JSON.stringify(op)}; expected one of ${Object.keys(known).join(', ')}`,
    );
  }
}

/**
 * Every element of the strided window (shape, strides, offset) lies inside `s`: the lowest and
 * highest element indices it touches are in [0, size).
 */
export function expectWindow(
  kernel: string,
  role: string,
  s: Storage,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): void {
  if (!Array.isArray(shape) || !Array.isArray(strides))
    throw new TypeError(`${kernel}: ${role} needs shape and strides arrays`);
  if (strides.length !== shape.length) {
    throw new RangeError(
      `${kernel}: ${role} has ${strides.length} strides; expected one entry per dimension (${shape.length})`,
    );
  }
  // Argument names are built only when a check fails: this runs on every strided kernel call.
  if (!isCount(offset)) expectCount(kernel, `${role} offset`, offset);
  let low = offset;
  let high = offset;
  for (let d = 0; d < shape.length; d++) {
    const extent = shape[d];
    const stride = strides[d];
    if (!isCount(extent)) expectCount(kernel, `${role} shape[${d}]`, extent);
    if (!isInteger(stride)) expectInteger(kernel, `${role} strides[${d}]`, stride);
    if (extent === 0) return; // an empty window touches nothing
    const span = (extent - 1) * stride;
    if (span < 0) low += span;
    else high += span;
  }
  if (low < 0 || high >= s.size) {
    throw new RangeError(
      `${kernel}: ${role} window [shape ${shape.join('x')}, strides ${strides.join(',')}, offset ${offset}] ` +
        `reaches elements ${low}..${high}, outside its storage of ${s.size} elements`,
    );
  }
}

/** Two shapes that must be equal. */
export function expectSameShape(
  kernel: string,
  roles: [string, string],
  a: readonly number[],
  b: readonly number[],
): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new RangeError(
      `${kernel}: ${roles[0]} shape [${a.join(', ')}] differs from ${roles[1]} shape [${b.join(', ')}]`,
    );
  }
}

/** Row-wise kernels: each of `matrices` holds rows * cols floats. Returns nothing; rows and cols are counts. */
export function expectRows(kernel: string, rows: number, cols: number, matrices: Record<string, Storage>): void {
  expectCount(kernel, 'rows', rows);
  expectCount(kernel, 'cols', cols);
  for (const role in matrices) {
    const s = matrices[role]!;
    expectFloating(kernel, role, s);
    expectSize(kernel, role, s, rows * cols, 'rows * cols');
  }
}
