/** Tensor creation: from host data, constants, ranges and the Philox generator. */
import type { Backend } from '../backend.js';
import { assertDType, type DType, fromNumbers, type HostArray } from '../dtype.js';
import { getBackend, nextRandomCounters } from '../engine.js';
import { assertValidShape, formatShape, type Shape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { empty } from './util.js';

export interface CreationOptions {
  dtype?: DType;
  backend?: Backend;
  requiresGrad?: boolean;
}

export interface TensorOptions extends CreationOptions {
  shape?: readonly number[];
}

type NestedNumbers = number | readonly NestedNumbers[];

function finish(t: Tensor, options: CreationOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = (level as readonly NestedNumbers[])[0] ?? 0;
  }
  return shape;
}

function flattenNested(data: NestedNumbers, shape: readonly number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number')
      throw new TypeError(`tensor: expected a number at depth ${depth}, got ${JSON.stringify(data)}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(
      `tensor: ragged nested array: expected ${shape[depth]} entries at depth ${depth} (shape ${formatShape(shape)})`,
    );
  }
  for (const item of data as readonly NestedNumbers[]) flattenNested(item, shape, depth + 1, out);
}

function defaultDType(data: unknown): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  return 'float32';
}

/**
 * Creates a tensor from a number, nested arrays or a typed array (flat, with `shape`).
 * dtype defaults to float32 (float64, int32, uint8 for those typed arrays).
 */
export function tensor(data: NestedNumbers | ArrayLike<number>, options: TensorOptions = {}): Tensor {
  const dtype = options.dtype ? assertDType(options.dtype, 'tensor') : defaultDType(data);
  let values: ArrayLike<number>;
  let shape: number[];
  if (typeof data === 'number') {
    values = [data];
    shape = [];
  } else if (ArrayBuffer.isView(data)) {
    values = data as ArrayLike<number>;
    shape = options.shape ? [...options.shape] : [values.length];
  } else {
    shape = inferShape(data as NestedNumbers);
    const flat: number[] = [];
    flattenNested(data as NestedNumbers, shape, 0, flat);
    values = flat;
    if (options.shape) shape = [...options.shape];
  }
  assertValidShape(shape, 'tensor');
  if (sizeOf(shape) !== values.length) {
    throw new RangeError(
      `tensor: ${values.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  const backend = options.backend ?? getBackend();
  const t = empty(shape, dtype, backend);
  backend.write(t.storage, fromNumbers(dtype, values));
  return finish(t, options);
}

/** Wraps raw host storage of `dtype` (e.g. bf16 bits as Uint16Array) without conversion. */
export function fromRaw(raw: HostArray, shape: Shape, dtype: DType, backend: Backend = getBackend()): Tensor {
  const t = empty(shape, dtype, backend);
  backend.write(t.storage, raw);
  return t;
}

export function full(shape: Shape, value: number, options: CreationOptions = {}): Tensor {
  assertValidShape(shape, 'full');
  const backend = options.backend ?? getBackend();
  const t = empty(shape, options.dtype ?? 'float32', backend);
  backend.run('fill', { out: t.storage }, { value });
  return finish(t, options);
}

export function zeros(shape: Shape, options: CreationOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreationOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function fullLike(t: Tensor, value: number, options: CreationOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, backend: t.backend, ...options });
}

export function zerosLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return fullLike(t, 0, options);
}

export function onesLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return fullLike(t, 1, options);
}

/** A one-element, zero-dimensional tensor. */
export function scalar(value: number, options: CreationOptions = {}): Tensor {
  return full([], value, options);
}

/** Values start, start + step, ... below end (like torch.arange); int32 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const values = Array.from({ length: n }, (_, i) => start + i * step);
  const integral = [start, end, step].every(Number.isInteger);
  return tensor(values, { dtype: options.dtype ?? (integral ? 'int32' : 'float32'), ...options, shape: [n] });
}

export function eye(n: number, options: CreationOptions = {}): Tensor {
  const values = new Float64Array(n * n);
  for (let i = 0; i < n; i++) values[i * n + i] = 1;
  return tensor(values, { dtype: 'float32', ...options, shape: [n, n] });
}

function random(
  shape: Shape,
  distribution: 'uniform' | 'normal',
  a: number,
  b: number,
  options: CreationOptions,
): Tensor {
  assertValidShape(shape, distribution === 'normal' ? 'randn' : 'rand');
  const backend = options.backend ?? getBackend();
  const t = empty(shape, options.dtype ?? 'float32', backend);
  const { seed, offset } = nextRandomCounters(t.size);
  backend.run('random', { out: t.storage }, { distribution, seed, offset, a, b });
  return finish(t, options);
}

/** Standard normal samples (mean and std optional), from the seeded Philox generator. */
export function randn(shape: Shape, options: CreationOptions & { mean?: number; std?: number } = {}): Tensor {
  return random(shape, 'normal', options.mean ?? 0, options.std ?? 1, options);
}

/** Uniform samples in [low, high) (default [0, 1)). */
export function rand(shape: Shape, options: CreationOptions & { low?: number; high?: number } = {}): Tensor {
  return random(shape, 'uniform', options.low ?? 0, options.high ?? 1, options);
}
