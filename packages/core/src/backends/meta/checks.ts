/**
 * Cheap argument checks for kernels that do no work: sizes against the params given, dtypes the
 * contract fixes, and strided windows that stay inside their storage. Each throws an error that
 * names the kernel, the argument, what was expected and what came.
 */
import type { Storage } from '../../backend.js';
import type { DType } from '../../dtype.js';

/** A non-negative safe integer (a count, a dimension, an offset). */
export function checkCount(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${where}: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** A safe integer, possibly negative (a stride). */
export function checkInteger(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new RangeError(`${where}: ${name} must be an integer, got ${String(value)}`);
  }
  return value;
}

export function checkPositive(where: string, name: string, value: unknown): number {
  if (checkCount(where, name, value) === 0) throw new RangeError(`${where}: ${name} must be positive, got 0`);
  return value as number;
}

/** `storage.size` must equal `expected`; `formula` says where the expectation came from. */
export function checkSize(where: string, name: string, storage: Storage, expected: number, formula: string): void {
  if (storage.size !== expected) {
    throw new RangeError(`${where}: ${name} has ${storage.size} elements, expected ${formula} = ${expected}`);
  }
}

/** Two storages that the kernel reads or writes element by element must match in size. */
export function checkSameSize(where: string, names: readonly string[], storages: readonly Storage[]): void {
  const first = storages[0];
  if (first === undefined) return;
  for (let i = 1; i < storages.length; i++) {
    const other = storages[i]!;
    if (other.size !== first.size) {
      throw new RangeError(
        `${where}: ${names[i]} has ${other.size} elements, expected the same as ${names[0]} (${first.size})`,
      );
    }
  }
}

export function checkDType(where: string, name: string, storage: Storage, expected: DType): void {
  if (storage.dtype !== expected) {
    throw new TypeError(`${where}: ${name} must be ${expected}, got ${storage.dtype}`);
  }
}

export function product(values: readonly number[]): number {
  let n = 1;
  for (const v of values) n *= v;
  return n;
}

/**
 * Checks that every element of the strided window (shape, strides, offset) lies inside `storage`:
 * the lowest and highest element indices it touches must be in [0, size).
 */
export function checkWindow(
  where: string,
  name: string,
  storage: Storage,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): void {
  if (!Array.isArray(shape) || !Array.isArray(strides)) {
    throw new TypeError(`${where}: ${name} needs shape and strides arrays`);
  }
  if (strides.length !== shape.length) {
    throw new RangeError(
      `${where}: ${name} strides have ${strides.length} entries, expected one per dimension (${shape.length})`,
    );
  }
  checkCount(where, `${name} offset`, offset);
  let low = offset;
  let high = offset;
  for (let d = 0; d < shape.length; d++) {
    const extent = checkCount(where, `${name} shape[${d}]`, shape[d]);
    const stride = checkInteger(where, `${name} strides[${d}]`, strides[d]);
    if (extent === 0) return; // an empty window touches nothing
    const span = (extent - 1) * stride;
    if (span < 0) low += span;
    else high += span;
  }
  if (low < 0 || high >= storage.size) {
    throw new RangeError(
      `${where}: ${name} window [shape ${shape.join('x')}, strides ${strides.join(',')}, offset ${offset}] ` +
        `reaches elements ${low}..${high}, but the storage has ${storage.size}`,
    );
  }
}
