/**
 * Kernel argument checks every backend shares. They read only what the `Storage` interface gives
 * (size, dtype) and plain numbers, and each failure names the kernel (a parameter, so each backend's
 * messages carry its own name), the argument, what was expected and what came. Checks that need a
 * backend's own storage class (ownership, a freed storage) stay in that backend.
 */
import type { QuantizeParams, RopeParams, Storage } from '../backend.js';
import type { DType } from '../dtype.js';

/** Every floating dtype; a backend without float64 passes its own list to the checks that take one. */
export const FLOATING_DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16', 'float16'];

/** "a", "a or b", "a, b or c". */
function orList(items: readonly string[]): string {
  if (items.length < 2) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
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

/** `s` must hold one of `floats` (default: every floating dtype). */
export function expectFloating(
  s: Storage,
  kernel: string,
  role: string,
  floats: readonly DType[] = FLOATING_DTYPES,
): void {
  if (!floats.includes(s.dtype)) {
    throw new TypeError(`${kernel}: ${role} must be ${orList(floats)}; got ${s.dtype}`);
  }
}

export function expectDType(s: Storage, dtypes: readonly DType[], kernel: string, role: string): void {
  if (!dtypes.includes(s.dtype)) {
    throw new TypeError(`${kernel}: ${role} must be ${dtypes.join(' or ')}; got ${s.dtype}`);
  }
}

/** A non-negative safe integer (rows, cols, batch...). */
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

/** Kernels that read an input after writing part of the output cannot take the same storage for both. */
export function expectDistinct(a: Storage, b: Storage, kernel: string, roles: string): void {
  if (a === b) throw new Error(`${kernel}: ${roles} must be different storages (the kernel cannot run in place)`);
}

/**
 * The arguments of `rope`: counts, an even headDim, float storages, x and out of
 * batch * seq * heads * headDim elements, cos and sin of seq * headDim / 2. Returns headDim / 2.
 */
export function checkRopeArgs(
  kernel: string,
  storages: { x: Storage; cos: Storage; sin: Storage; out: Storage },
  params: RopeParams,
  floats: readonly DType[] = FLOATING_DTYPES,
): number {
  const { batch, seq, heads, headDim } = params;
  for (const [name, value] of Object.entries({ batch, seq, heads, headDim })) expectCount(value, kernel, name);
  if (headDim % 2 !== 0) throw new RangeError(`${kernel}: headDim must be even; got ${headDim}`);
  const half = headDim / 2;
  const { x, cos, sin, out } = storages;
  for (const [role, s] of Object.entries({ x, cos, sin, out })) expectFloating(s, kernel, role, floats);
  expectSize(x, batch * seq * heads * headDim, kernel, 'x', 'batch * seq * heads * headDim');
  expectSize(out, x.size, kernel, 'out', 'x.size');
  expectSize(cos, seq * half, kernel, 'cos', 'seq * headDim / 2');
  expectSize(sin, seq * half, kernel, 'sin', 'seq * headDim / 2');
  return half;
}

/**
 * Row-wise kernels (softmax, RMSNorm): rows and cols are counts, every storage of `matrices` holds
 * rows * cols floats and every one of `vectors` the size given with it (`formula` names it).
 */
export function checkRowsCols(
  kernel: string,
  rows: number,
  cols: number,
  matrices: Record<string, Storage>,
  vectors: Record<string, [Storage, number, string]> = {},
  floats: readonly DType[] = FLOATING_DTYPES,
): void {
  expectCount(rows, kernel, 'rows');
  expectCount(cols, kernel, 'cols');
  for (const [role, s] of Object.entries(matrices)) {
    expectFloating(s, kernel, role, floats);
    expectSize(s, rows * cols, kernel, role, 'rows * cols');
  }
  for (const [role, [s, size, formula]] of Object.entries(vectors)) {
    expectFloating(s, kernel, role, floats);
    expectSize(s, size, kernel, role, formula);
  }
}

/** Blocks of `params.blockSize` elements covering `size` elements (blockwise quantisation). */
function quantizeBlockCount(size: number, params: QuantizeParams, kernel: string): number {
  expectPositive(params.blockSize, kernel, 'blockSize');
  return Math.ceil(size / params.blockSize);
}

/** A codebook holds floats, 1..256 entries (codes are uint8); whether it is sorted is the backend's to check. */
function checkCodebookSize(codebook: Storage, kernel: string, floats: readonly DType[]): void {
  expectFloating(codebook, kernel, 'codebook', floats);
  if (codebook.size < 1 || codebook.size > 256) {
    throw new RangeError(`${kernel}: codebook must have 1..256 entries (codes are uint8); got ${codebook.size}`);
  }
}

/**
 * The arguments of `quantizeBlockwise`: float x, uint8 codes of x.size, absmax of one of
 * `absmaxDTypes` with one scale per block, and the codebook. Returns the number of blocks.
 */
export function checkQuantizeArgs(
  kernel: string,
  storages: { x: Storage; codebook: Storage; codes: Storage; absmax: Storage },
  params: QuantizeParams,
  absmaxDTypes: readonly DType[],
  floats: readonly DType[] = FLOATING_DTYPES,
): number {
  const { x, codebook, codes, absmax } = storages;
  expectFloating(x, kernel, 'x', floats);
  expectDType(codes, ['uint8'], kernel, 'codes');
  expectSize(codes, x.size, kernel, 'codes', 'x.size');
  const blocks = quantizeBlockCount(x.size, params, kernel);
  expectDType(absmax, absmaxDTypes, kernel, 'absmax');
  expectSize(absmax, blocks, kernel, 'absmax', 'ceil(x.size / blockSize)');
  checkCodebookSize(codebook, kernel, floats);
  return blocks;
}

/**
 * The arguments of `dequantizeBlockwise`: uint8 codes, float out of codes.size, float absmax with
 * one scale per block, and the codebook. Returns the number of blocks.
 */
export function checkDequantizeArgs(
  kernel: string,
  storages: { codes: Storage; codebook: Storage; absmax: Storage; out: Storage },
  params: QuantizeParams,
  floats: readonly DType[] = FLOATING_DTYPES,
): number {
  const { codes, codebook, absmax, out } = storages;
  expectDType(codes, ['uint8'], kernel, 'codes');
  expectFloating(out, kernel, 'out', floats);
  expectSize(out, codes.size, kernel, 'out', 'codes.size');
  const blocks = quantizeBlockCount(codes.size, params, kernel);
  expectFloating(absmax, kernel, 'absmax', floats);
  expectSize(absmax, blocks, kernel, 'absmax', 'ceil(codes.size / blockSize)');
  checkCodebookSize(codebook, kernel, floats);
  return blocks;
}
