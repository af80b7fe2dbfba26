import type { DType, HostArray } from '../dtype.js';

interface DTypeInfo {
  /** Bytes per element. */
  readonly itemBytes: number;
  /**
   * Position in the reference implementation's `Dtype` enum, which lists types in increasing
   * alignment; its writer lays tensors out by this position descending, then by name.
   */
  readonly order: number;
  /** The dtype a tensor of this type is read into (integers wider or narrower than 32 bits become int32). */
  readonly hostDType: DType;
}

const INFO = {
  BOOL: { itemBytes: 1, order: 0, hostDType: 'uint8' },
  U8: { itemBytes: 1, order: 1, hostDType: 'uint8' },
  I8: { itemBytes: 1, order: 2, hostDType: 'int32' },
  I16: { itemBytes: 2, order: 5, hostDType: 'int32' },
  U16: { itemBytes: 2, order: 6, hostDType: 'int32' },
  F16: { itemBytes: 2, order: 7, hostDType: 'float16' },
  BF16: { itemBytes: 2, order: 8, hostDType: 'bfloat16' },
  I32: { itemBytes: 4, order: 9, hostDType: 'int32' },
  U32: { itemBytes: 4, order: 10, hostDType: 'int32' },
  F32: { itemBytes: 4, order: 11, hostDType: 'float32' },
  F64: { itemBytes: 8, order: 12, hostDType: 'float64' },
  I64: { itemBytes: 8, order: 13, hostDType: 'int32' },
  U64: { itemBytes: 8, order: 14, hostDType: 'int32' },
} as const satisfies Record<string, DTypeInfo>;

/** Element types of the safetensors format that this reader and writer handle. */
export type SafetensorsDType = keyof typeof INFO;

export const SAFETENSORS_DTYPES = Object.keys(INFO) as readonly SafetensorsDType[];

/** Names of the format that we know of but cannot convert (8-bit floats, complex, packed 4-bit). */
const KNOWN_UNSUPPORTED = new Set(['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

const FROM_DTYPE: Readonly<Record<DType, SafetensorsDType>> = {
  float32: 'F32',
  float64: 'F64',
  bfloat16: 'BF16',
  float16: 'F16',
  int32: 'I32',
  uint8: 'U8',
};

export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(INFO, value);
}

/** Why `value` is not a dtype we read, for error messages. */
export function describeUnsupportedDType(value: unknown): string {
  const known = SAFETENSORS_DTYPES.join(', ');
  if (typeof value === 'string' && KNOWN_UNSUPPORTED.has(value)) {
    return `dtype ${value} is valid safetensors but not supported here; supported: ${known}`;
  }
  return `unknown dtype ${JSON.stringify(value)}; expected one of ${known}`;
}

export function safetensorsItemBytes(dtype: SafetensorsDType): number {
  return INFO[dtype].itemBytes;
}

export function safetensorsOrder(dtype: SafetensorsDType): number {
  return INFO[dtype].order;
}

export function hostDTypeOf(dtype: SafetensorsDType): DType {
  return INFO[dtype].hostDType;
}

/** The safetensors name for one of our dtypes (float32 -> F32, bfloat16 -> BF16, ...). */
export function toSafetensorsDType(dtype: DType | SafetensorsDType): SafetensorsDType {
  if (isSafetensorsDType(dtype)) return dtype;
  const name = FROM_DTYPE[dtype as DType];
  if (name === undefined) {
    throw new TypeError(
      `unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(FROM_DTYPE).join(', ')} or a safetensors dtype (${SAFETENSORS_DTYPES.join(', ')})`,
    );
  }
  return name;
}

/**
 * Converts the little-endian bytes of one tensor into the host array of its host dtype. `bytes`
 * must start at an offset aligned to 8 (a freshly allocated buffer is). 64-bit and unsigned 32-bit
 * integers are range-checked into int32; `where` names the tensor in the error.
 */
export function decodeTensorBytes(dtype: SafetensorsDType, bytes: Uint8Array, where: string): HostArray {
  const count = bytes.byteLength / INFO[dtype].itemBytes;
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'BOOL':
    case 'U8':
      return bytes;
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, byteOffset, count);
    case 'F32':
      return new Float32Array(buffer, byteOffset, count);
    case 'F64':
      return new Float64Array(buffer, byteOffset, count);
    case 'I32':
      return new Int32Array(buffer, byteOffset, count);
    case 'I8':
      return Int32Array.from(new Int8Array(buffer, byteOffset, count));
    case 'I16':
      return Int32Array.from(new Int16Array(buffer, byteOffset, count));
    case 'U16':
      return Int32Array.from(new Uint16Array(buffer, byteOffset, count));
    case 'U32':
      return narrowToInt32(new Uint32Array(buffer, byteOffset, count), dtype, where);
    case 'I64':
      return narrowToInt32(new BigInt64Array(buffer, byteOffset, count), dtype, where);
    case 'U64':
      return narrowToInt32(new BigUint64Array(buffer, byteOffset, count), dtype, where);
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function narrowToInt32(
  values: Uint32Array | BigInt64Array | BigUint64Array,
  dtype: SafetensorsDType,
  where: string,
): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = Number(values[i]);
    if (value < INT32_MIN || value > INT32_MAX) {
      throw new RangeError(
        `${where}: ${dtype} value ${String(values[i])} at element ${i} does not fit in int32 (range ${INT32_MIN}..${INT32_MAX})`,
      );
    }
    out[i] = value;
  }
  return out;
}
