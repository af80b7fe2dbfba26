/**
 * Numeric access to storages. Kernels compute on plain JS numbers: they read inputs through
 * `readValues` (16-bit floats decoded into a Float32Array) and write through an `OutputTarget`,
 * which encodes 16-bit results and applies float32 rounding when the result must have it.
 *
 * Precision rule of the Backend contract: compute in float32 unless every floating input is
 * float64. JS arithmetic is float64, so float32 semantics are obtained by rounding results with
 * Math.fround where they are stored; intermediate sums stay in float64, which is at least as
 * accurate as float32 accumulation.
 */
import {
  bfloat16BitsToFloat32,
  type DType,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../../dtype.js';
import type { CpuStorage } from './storage.js';

/** Any typed array whose elements read as numbers. */
export type Values = Float32Array | Float64Array | Int32Array | Uint8Array;
export type FloatValues = Float32Array | Float64Array;
export type Precision = 'f32' | 'f64';

/** float32 when any input is float32 or narrower; integers are exact in float64. */
export function precisionOf(...inputs: readonly CpuStorage[]): Precision {
  for (const s of inputs) {
    if (s.dtype === 'float32' || s.dtype === 'bfloat16' || s.dtype === 'float16') return 'f32';
  }
  return 'f64';
}

export function is16Bit(dtype: DType): dtype is 'bfloat16' | 'float16' {
  return dtype === 'bfloat16' || dtype === 'float16';
}

export function decoderFor(dtype: 'bfloat16' | 'float16'): (bits: number) => number {
  return dtype === 'bfloat16' ? bfloat16BitsToFloat32 : float16BitsToFloat32;
}

export function encoderFor(dtype: 'bfloat16' | 'float16'): (x: number) => number {
  return dtype === 'bfloat16' ? float32ToBfloat16Bits : float32ToFloat16Bits;
}

/** The elements of `s` as numbers; 16-bit floats are decoded into a fresh Float32Array. */
export function readValues(s: CpuStorage): Values {
  const raw = s.data;
  const dtype = s.dtype;
  if (!is16Bit(dtype)) return raw as Values;
  const decode = decoderFor(dtype);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = decode(raw[i] as number);
  return out;
}

/** Like `readValues` for floating storages, as a float array (what matmul and the fused kernels need). */
/**
 * Each storage's array when every one of them holds float32 (what the SIMD kernels take), else
 * null.
 */
export function float32Arrays<T extends readonly CpuStorage[]>(
  ...storages: T
): { [K in keyof T]: Float32Array } | null {
  for (const s of storages) if (!(s.data instanceof Float32Array)) return null;
  return storages.map((s) => s.data) as { [K in keyof T]: Float32Array };
}

export function readFloats(s: CpuStorage): FloatValues {
  const values = readValues(s);
  if (values instanceof Float32Array || values instanceof Float64Array) return values;
  return Float64Array.from(values);
}

/** Encodes `values` into the raw elements of a 16-bit storage. */
export function encodeInto(dtype: 'bfloat16' | 'float16', values: ArrayLike<number>, raw: Uint16Array): void {
  const encode = encoderFor(dtype);
  for (let i = 0; i < values.length; i++) raw[i] = encode(values[i] as number);
}

/**
 * Where a kernel writes its results. `values` is the storage itself for float32/float64/int32/
 * uint8 outputs, or a float32 scratch for 16-bit outputs; `commit` finishes the write.
 */
export interface OutputTarget {
  values: Values;
  commit(): void;
}

/**
 * Opens `out` for writing. With `keep`, `values` starts with the current contents (for in-place
 * updates and accumulation). A float64 output of a float32-precision computation is rounded to
 * float32 on commit.
 */
export function openOutput(out: CpuStorage, precision: Precision, keep = false): OutputTarget {
  const dtype = out.dtype;
  const raw = out.data;
  if (is16Bit(dtype)) {
    const values = keep ? readValues(out) : new Float32Array(raw.length);
    return { values, commit: () => encodeInto(dtype, values, raw as Uint16Array) };
  }
  if (dtype === 'float64' && precision === 'f32') {
    const values = raw as Float64Array;
    return { values, commit: () => roundToFloat32(values) };
  }
  return { values: raw as Values, commit: () => {} };
}

/** Same as `openOutput` for kernels that need a float array to write into. */
export function openFloatOutput(
  out: CpuStorage,
  precision: Precision,
  keep = false,
): { values: FloatValues; commit(): void } {
  const target = openOutput(out, precision, keep);
  const values = target.values;
  if (!(values instanceof Float32Array || values instanceof Float64Array)) {
    throw new TypeError(`internal: openFloatOutput on a ${out.dtype} storage`);
  }
  return { values, commit: target.commit };
}

/** Two float inputs and `out` opened at their precision: the start of most two-input kernels. */
export function openFloatPair(a: CpuStorage, b: CpuStorage, out: CpuStorage) {
  const target = openFloatOutput(out, precisionOf(a, b));
  return { a: readFloats(a), b: readFloats(b), out: target.values, commit: target.commit };
}

export function roundToFloat32(values: Float64Array, from = 0, to = values.length): void {
  for (let i = from; i < to; i++) values[i] = Math.fround(values[i] as number);
}

/** Rounds one number to the given precision. */
export function rounder(precision: Precision): (x: number) => number {
  return precision === 'f32' ? Math.fround : identity;
}

function identity(x: number): number {
  return x;
}
