/**
 * WGSL code generation shared by the kernels: how each dtype is laid out in a storage buffer and
 * how a shader reads and writes its elements.
 *
 * Layout: float32 as array<f32>, int32 as array<i32>; bfloat16 and float16 packed two to a u32,
 * uint8 four to a u32 (little-endian lanes, the host's byte order). Loads decode to f32 (or i32
 * for integer indices); stores round to nearest even exactly like the host converters in
 * @galore-ts/core dtype.ts, so 16-bit results match the CPU backend bit for bit.
 *
 * Writing one 16- or 8-bit element would race with the neighbour that shares its word, so a
 * packed output is written either a whole word per invocation (elementwise kernels, which own
 * consecutive elements) or through atomic and/or on the element's bits (`st_` functions).
 */
import type { DType } from '@galore-ts/core';

export type Scalar = 'f32' | 'i32';

/** Elements per 32-bit word. */
export function packOf(dtype: DType): 1 | 2 | 4 {
  if (dtype === 'bfloat16' || dtype === 'float16') return 2;
  if (dtype === 'uint8') return 4;
  return 1;
}

function arrayElement(dtype: DType): string {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  if (dtype === 'float64')
    throw new TypeError('WebGPU backend: float64 is not supported (WGSL has no f64); use float32');
  return 'u32';
}

export function isIntegral(dtype: DType): boolean {
  return dtype === 'int32' || dtype === 'uint8';
}

/** How a kernel uses a buffer. `atomic` is a packed output written element by element. */
export type Mode = 'read' | 'write' | 'atomic';

export interface Operand {
  name: string;
  dtype: DType;
  mode: Mode;
  /** The buffer variable it reads, when it aliases another operand's binding (in-place kernels). */
  array?: string;
}

/** Whether the operand's storage is declared as atomic words. */
function isAtomic(op: Operand): boolean {
  return op.mode === 'atomic' && packOf(op.dtype) > 1;
}

export function declareBinding(binding: number, op: Operand): string {
  const element = isAtomic(op) ? 'atomic<u32>' : arrayElement(op.dtype);
  const access = op.mode === 'read' ? 'read' : 'read_write';
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${op.name}: array<${element}>;`;
}

/** Declarations for operands bound from binding `first` on, in order. */
export function declareBindings(first: number, ops: readonly Operand[]): string {
  return ops.map((op, i) => declareBinding(first + i, op)).join('\n');
}

function word(op: Operand, index: string): string {
  const array = op.array ?? op.name;
  return isAtomic(op) ? `atomicLoad(&${array}[${index}])` : `${array}[${index}]`;
}

/** `fn ld_NAME(i: u32) -> f32`: element i decoded to f32. */
export function loader(op: Operand): string {
  const n = op.name;
  const a = op.array ?? op.name;
  switch (op.dtype) {
    case 'float32':
      return `fn ld_${n}(i: u32) -> f32 { return ${a}[i]; }`;
    case 'int32':
      return `fn ld_${n}(i: u32) -> f32 { return f32(${a}[i]); }`;
    case 'bfloat16':
      return `fn ld_${n}(i: u32) -> f32 { return bf16_to_f32((${word(op, 'i >> 1u')} >> ((i & 1u) * 16u)) & 0xffffu); }`;
    case 'float16':
      return `fn ld_${n}(i: u32) -> f32 { return f16_to_f32((${word(op, 'i >> 1u')} >> ((i & 1u) * 16u)) & 0xffffu); }`;
    case 'uint8':
      return `fn ld_${n}(i: u32) -> f32 { return f32((${word(op, 'i >> 2u')} >> ((i & 3u) * 8u)) & 0xffu); }`;
    case 'float64':
      return arrayElement('float64');
  }
}

/** `fn ldi_NAME(i: u32) -> i32`: element i as an integer (for int32 and uint8 storages). */
export function intLoader(op: Operand): string {
  const n = op.name;
  if (op.dtype === 'int32') return `fn ldi_${n}(i: u32) -> i32 { return ${op.array ?? n}[i]; }`;
  if (op.dtype === 'uint8')
    return `fn ldi_${n}(i: u32) -> i32 { return i32((${word(op, 'i >> 2u')} >> ((i & 3u) * 8u)) & 0xffu); }`;
  return `fn ldi_${n}(i: u32) -> i32 { return i32(ld_${n}(i)); }`;
}

/** WGSL expression: the bits (low 16 or 8) or value of f32 expression `v` stored as `dtype`. */
export function encode(dtype: DType, v: string): string {
  switch (dtype) {
    case 'float32':
      return v;
    case 'int32':
      return `i32_of(${v})`;
    case 'bfloat16':
      return `f32_to_bf16(${v})`;
    case 'float16':
      return `f32_to_f16(${v})`;
    case 'uint8':
      return `(u32(i32_of(${v})) & 0xffu)`;
    case 'float64':
      return arrayElement('float64');
  }
}

/** Like `encode` for an i32 expression. */
export function encodeInt(dtype: DType, v: string): string {
  if (dtype === 'int32') return v;
  if (dtype === 'uint8') return `(u32(${v}) & 0xffu)`;
  return encode(dtype, `f32(${v})`);
}

/**
 * `fn st_NAME(i: u32, v: f32)` storing one element; packed dtypes go through atomics so
 * neighbouring invocations may write the other lanes of the same word.
 * With `integer`, the function takes an i32.
 */
export function storer(op: Operand, integer = false): string {
  const n = op.name;
  const type = integer ? 'i32' : 'f32';
  const bits = integer ? encodeInt(op.dtype, 'v') : encode(op.dtype, 'v');
  const pack = packOf(op.dtype);
  if (pack === 1) return `fn st_${n}(i: u32, v: ${type}) { ${n}[i] = ${bits}; }`;
  const laneBits = pack === 2 ? 16 : 8;
  const mask = pack === 2 ? '0xffffu' : '0xffu';
  const shift = pack === 2 ? '(i & 1u) * 16u' : '(i & 3u) * 8u';
  const wordIndex = pack === 2 ? 'i >> 1u' : 'i >> 2u';
  return `fn st_${n}(i: u32, v: ${type}) {
  let shift = ${shift};
  let w = ${wordIndex};
  atomicAnd(&${n}[w], ~(${mask} << shift));
  atomicOr(&${n}[w], (${bits}) << shift); // ${laneBits}-bit lane
}`;
}

/**
 * Statements writing output word `w` of `op` (mode 'write') from `values`, the f32 (or i32
 * with `integer`) expressions of its `packOf(dtype)` consecutive elements.
 */
export function storeWord(op: Operand, w: string, values: readonly string[], integer = false): string {
  const enc = (v: string) => (integer ? encodeInt(op.dtype, v) : encode(op.dtype, v));
  const pack = packOf(op.dtype);
  if (pack === 1) return `${op.name}[${w}] = ${enc(values[0] as string)};`;
  const lane = pack === 2 ? 16 : 8;
  const parts = values.map((v, i) => (i === 0 ? `(${enc(v)})` : `((${enc(v)}) << ${i * lane}u)`));
  return `${op.name}[${w}] = ${parts.join(' | ')};`;
}

/** Conversions every shader may call; unused ones cost nothing. */
export const PRELUDE = /* wgsl */ `
fn bf16_to_f32(h: u32) -> f32 { return bitcast<f32>(h << 16u); }
fn f32_to_bf16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) { return ((b >> 16u) | 0x40u) & 0xffffu; }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}
fn f16_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return select(1.0, -1.0, s != 0u) * f32(m) * 5.9604644775390625e-8; }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}
fn f32_to_f16(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  let sign = (bits >> 16u) & 0x8000u;
  let exp = i32((bits >> 23u) & 0xffu);
  var mant = bits & 0x7fffffu;
  if (exp == 255) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = exp - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    var half = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (half & 1u) == 1u)) { half += 1u; }
    return sign | half;
  }
  var half = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u) == 1u)) { half += 1u; }
  return sign | half;
}
fn f32_nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn f32_inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
fn tanh_stable(x: f32) -> f32 {
  let t = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - t) / (1.0 + t);
}
// x - 2 pi k with 2 pi split in three parts (Cody-Waite), exact enough for |x| < 1e5.
fn reduce_angle(x: f32) -> f32 {
  let k = round(x * 0.15915494309189535);
  return ((x - k * 6.28125) - k * 1.9353071795864769e-3) - k * 2.0e-11;
}
// Math.pow semantics: integer exponents of negative bases keep their sign.
fn pow_js(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a != a || b != b) { return f32_nan(); }
  if (a == 0.0) { return select(0.0, f32_inf(), b < 0.0); }
  if (a < 0.0) {
    if (round(b) != b) { return f32_nan(); }
    let r = pow(-a, b);
    return select(r, -r, abs(b) % 2.0 == 1.0);
  }
  return pow(a, b);
}
fn max_js(a: f32, b: f32) -> f32 { if (a != a || b != b) { return f32_nan(); } return max(a, b); }
fn min_js(a: f32, b: f32) -> f32 { if (a != a || b != b) { return f32_nan(); } return min(a, b); }
// Float to int as a JS typed-array store does for in-range values: truncate toward zero, NaN to 0.
fn i32_of(x: f32) -> i32 { if (x != x) { return 0; } return i32(trunc(x)); }
`;

/** Workgroup size of the one-dimensional kernels. */
export const WG = 256;

/**
 * Header of a one-dimensional kernel over `index` in [0, count): dispatches may be two-dimensional
 * when there are more than 65535 workgroups, so the linear index folds y in.
 */
export function linearMain(body: string, wg = WG): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = gid.x + gid.y * groups.x * ${wg}u;
${body}
}`;
}

/** Workgroups [x, y] covering `count` groups within the per-dimension limit. */
export function groupsFor(count: number, maxPerDimension: number): [number, number] {
  if (count <= maxPerDimension) return [count, 1];
  const y = Math.ceil(count / maxPerDimension);
  const x = Math.ceil(count / y);
  if (y > maxPerDimension) throw new RangeError(`WebGPU backend: ${count} workgroups exceed the dispatch limit`);
  return [x, y];
}

export type ParamType = 'u32' | 'i32' | 'f32';
export type ParamField = readonly [name: string, type: ParamType];

/** The uniform block `p` at binding 0. */
export function declareParams(fields: readonly ParamField[]): string {
  if (fields.length === 0) return '';
  const body = fields.map(([name, type]) => `  ${name}: ${type},`).join('\n');
  return `struct Params {\n${body}\n}\n@group(0) @binding(0) var<uniform> p: Params;`;
}

/** Packs parameter values in field order (all fields are 4 bytes). */
export function packParams(fields: readonly ParamField[], values: Readonly<Record<string, number>>): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.max(16, fields.length * 4));
  const view = new DataView(buffer);
  fields.forEach(([name, type], i) => {
    const value = values[name];
    if (value === undefined) throw new Error(`internal: kernel parameter ${name} missing`);
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value, true);
  });
  return buffer;
}
