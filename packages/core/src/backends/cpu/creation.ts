/** Creation and conversion kernels: fill, Philox random, dtype cast and strided copy. */
import type { RandomParams, View } from '../../backend.js';
import type { HostArray } from '../../dtype.js';
import { philoxFill } from '../../random.js';
import { copySimd } from './copy-simd.js';
import { encoderFor, is16Bit, openOutput, readValues } from './numeric.js';
import type { CpuStorage } from './storage.js';
import { StridedRows } from './strided.js';

export function fill(out: CpuStorage, value: number): void {
  const dtype = out.dtype;
  const raw = out.data;
  // 16-bit storages hold bit patterns, so the value is encoded once and the pattern repeated.
  raw.fill(is16Bit(dtype) ? encoderFor(dtype)(value) : value);
}

export function random(out: CpuStorage, params: RandomParams): void {
  const { distribution, seed, offset, a, b } = params;
  // float32 storages round the float64 reference stream on store, exactly like every backend must.
  const target = openOutput(out, 'f64');
  philoxFill(target.values, distribution, seed, offset, a, b);
  target.commit();
}

/** Converts every element to the output dtype: floats round to nearest, floats to integers truncate. */
export function cast(x: CpuStorage, out: CpuStorage): void {
  if (x.dtype === out.dtype) {
    out.data.set(x.data as never);
    return;
  }
  const values = readValues(x);
  // Typed-array stores do the rounding: floats to nearest, floats to integers toward zero
  // (NaN and infinities become 0); 16-bit outputs are encoded on commit.
  const target = openOutput(out, 'f64');
  const dst = target.values;
  for (let i = 0; i < values.length; i++) dst[i] = values[i] as number;
  target.commit();
}

/** Copies raw elements between two strided views of the same shape and dtype; `simd` allows copy-simd.ts. */
export function copy(src: CpuStorage, srcView: View, dst: CpuStorage, dstView: View, simd = true): void {
  // An overlapping in-place copy would read elements it already overwrote.
  const raw = src === dst ? src.data.slice() : src.data;
  if (simd && copySimd(raw, srcView, dst.data, dstView)) return;
  const from = bitsOf(raw);
  const to = bitsOf(dst.data);
  const rows = new StridedRows(srcView.shape, [dstView, srcView]);
  const { starts, inner, length } = rows;
  const so = inner[0] as number;
  const si = inner[1] as number;
  for (let r = 0; r < rows.count; r++, rows.next())
    copyRow(to, starts[0] as number, so, from, starts[1] as number, si, length);
}

type Bits = Int32Array | Float64Array | Uint16Array | Uint8Array;

/**
 * The elements as integers of their width (float64 as itself: its loads and stores keep every bit),
 * so a copy moves bit patterns (float32 NaN payloads included) and its loops see one array type
 * per width.
 */
function bitsOf(data: HostArray): Bits {
  if (data instanceof Float32Array) return new Int32Array(data.buffer, data.byteOffset, data.length);
  return data as Bits;
}

/** Rows at least this long go as one block (a memcpy); below it a subarray costs more than the loop. */
const BLOCK_MIN = 128;

/** to[o + e so] = from[i + e si] for e < n: in-order rows as a loop or a block, a broadcast value as a fill. */
function copyRow(to: Bits, o: number, so: number, from: Bits, i: number, si: number, n: number): void {
  if (so === 1 && si === 1) {
    if (n >= BLOCK_MIN) to.set(from.subarray(i, i + n) as never, o);
    else for (let e = 0; e < n; e++) to[o + e] = from[i + e]!;
  } else if (so === 1 && si === 0) {
    to.fill(from[i]!, o, o + n);
  } else {
    for (let e = 0; e < n; e++) to[o + e * so] = from[i + e * si]!;
  }
}
