/** Creation and conversion kernels: fill, Philox random, dtype cast and strided copy. */
import type { RandomParams, View } from '../../backend.js';
import { philoxFill } from '../../random.js';
import { encoderFor, is16Bit, openOutput, readValues } from './numeric.js';
import type { CpuStorage } from './storage.js';
import { forEachRow } from './strided.js';

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

/** Copies raw elements between two strided views of the same shape and dtype. */
export function copy(src: CpuStorage, srcView: View, dst: CpuStorage, dstView: View): void {
  const shape = srcView.shape;
  // An overlapping in-place copy would read elements it already overwrote.
  const from = src === dst ? src.data.slice() : src.data;
  const to = dst.data;
  forEachRow(shape, [dstView, srcView], (starts, length, inner) => {
    let o = starts[0] as number;
    let i = starts[1] as number;
    const so = inner[0] as number;
    const si = inner[1] as number;
    // Long contiguous rows (the head splits and merges of attention) copy as one block.
    if (so === 1 && si === 1 && length >= 16) {
      to.set(from.subarray(i, i + length) as never, o);
      return;
    }
    for (let e = 0; e < length; e++) {
      to[o] = from[i] as number;
      o += so;
      i += si;
    }
  });
}
