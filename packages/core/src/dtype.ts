/**
 * Element types. Compute happens in float32 (float64 on the CPU backend for gradient checks);
 * bfloat16 and float16 are storage types whose host representation is the raw 16-bit pattern.
 */
export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16' | 'int32' | 'uint8';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16', 'float16', 'int32', 'uint8'];

/** Host arrays as backends read and write them: the raw element storage of each dtype. */
export type HostArray = Float32Array | Float64Array | Uint16Array | Int32Array | Uint8Array;

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  bfloat16: 2,
  float16: 2,
  int32: 4,
  uint8: 1,
};

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'bfloat16' || dtype === 'float16';
}

export function assertDType(value: unknown, where: string): DType {
  if (typeof value === 'string' && (DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new TypeError(`${where}: unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(', ')}`);
}

/** Allocates the host array type that holds `size` raw elements of `dtype`. */
export function hostArrayFor(dtype: DType, size: number): HostArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'bfloat16':
    case 'float16':
      return new Uint16Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'uint8':
      return new Uint8Array(size);
  }
}

/**
 * Result dtype of a binary op, as PyTorch promotes: any float beats any integer, wider floats beat
 * narrower ones, bfloat16 with float16 gives float32.
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: Record<DType, number> = { uint8: 0, int32: 1, bfloat16: 2, float16: 2, float32: 3, float64: 4 };
  if (rank[a] === 2 && rank[b] === 2) return 'float32';
  return rank[a] >= rank[b] ? a : b;
}

// --- 16-bit float conversions (round to nearest even), shared by every backend's host side ---

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float32ToBfloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff; // quiet NaN
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

export function bfloat16BitsToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0] as number;
}

export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  e = half; // carry into the exponent is correct rounding (may reach infinity)
  return sign | e;
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Decodes raw host storage to numbers (Float32Array for 16-bit floats). */
export function toNumberArray(dtype: DType, raw: HostArray): Float32Array | Float64Array | Int32Array | Uint8Array {
  if (dtype === 'bfloat16' || dtype === 'float16') {
    const decode = dtype === 'bfloat16' ? bfloat16BitsToFloat32 : float16BitsToFloat32;
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = decode(raw[i] as number);
    return out;
  }
  return raw as Float32Array | Float64Array | Int32Array | Uint8Array;
}

/** Encodes numbers into the raw host storage of `dtype`. */
export function fromNumbers(dtype: DType, values: ArrayLike<number>): HostArray {
  const out = hostArrayFor(dtype, values.length);
  if (dtype === 'bfloat16' || dtype === 'float16') {
    const encode = dtype === 'bfloat16' ? float32ToBfloat16Bits : float32ToFloat16Bits;
    for (let i = 0; i < values.length; i++) out[i] = encode(values[i] as number);
  } else {
    for (let i = 0; i < values.length; i++) out[i] = values[i] as number;
  }
  return out;
}
