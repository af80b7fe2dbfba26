/** Creation and conversion kernels: fill, Philox random, dtype cast and strided copy. */
import type { RandomParams, View } from '../../backend.js';
import { philoxFill } from '../../random.js';
import { expectFloating, expectSize } from '../kernel-checks.js';
import { encoderFor, is16Bit, openOutput, readValues } from './numeric.js';
import type { CpuStorage } from './storage.js';
import { checkShape, checkStridedBounds, forEachRow } from './strided.js';

export function fill(out: CpuStorage, value: number): void {
  if (typeof value !== 'number') throw new TypeError(`CpuBackend.fill: value must be a number; got ${typeof value}`);
  const dtype = out.dtype;
  const raw = out.data;
  // 16-bit storages hold bit patterns, so the value is encoded once and the pattern repeated.
  raw.fill(is16Bit(dtype) ? encoderFor(dtype)(value) : value);
}

export function random(out: CpuStorage, params: RandomParams): void {
  const kernel = 'CpuBackend.random';
  expectFloating(out, kernel, 'out');
  const { distribution, seed, offset, a, b } = params;
  if (distribution !== 'uniform' && distribution !== 'normal') {
    throw new RangeError(`${kernel}: distribution must be "uniform" or "normal"; got ${JSON.stringify(distribution)}`);
  }
  if (!Array.isArray(seed) || seed.length !== 2 || !seed.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
    throw new RangeError(`${kernel}: seed must be two unsigned 32-bit words [low, high]; got ${JSON.stringify(seed)}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${kernel}: offset must be a non-negative integer block index; got ${offset}`);
  }
  // float32 storages round the float64 reference stream on store, exactly like every backend must.
  const target = openOutput(out, 'f64');
  philoxFill(target.values, distribution, seed, offset, a, b);
  target.commit();
}

/** Converts every element to the output dtype: floats round to nearest, floats to integers truncate. */
export function cast(x: CpuStorage, out: CpuStorage): void {
  expectSize(out, x.size, 'CpuBackend.cast', 'out', 'x.size');
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
  const kernel = 'CpuBackend.copy';
  if (src.dtype !== dst.dtype) {
    throw new TypeError(
      `${kernel}: src is ${src.dtype} but dst is ${dst.dtype}; copy keeps the dtype (use cast to convert)`,
    );
  }
  checkShape(srcView.shape, kernel);
  checkShape(dstView.shape, kernel);
  if (srcView.shape.length !== dstView.shape.length || srcView.shape.some((e, d) => e !== dstView.shape[d])) {
    throw new RangeError(
      `${kernel}: src view shape [${srcView.shape.join(', ')}] differs from dst view shape [${dstView.shape.join(', ')}]`,
    );
  }
  const shape = srcView.shape;
  checkStridedBounds(shape, srcView, src.size, kernel, 'src view');
  checkStridedBounds(shape, dstView, dst.size, kernel, 'dst view');
  // An overlapping in-place copy would read elements it already overwrote.
  const from = src === dst ? src.data.slice() : src.data;
  const to = dst.data;
  forEachRow(shape, [dstView, srcView], (starts, length, inner) => {
    let o = starts[0] as number;
    let i = starts[1] as number;
    const so = inner[0] as number;
    const si = inner[1] as number;
    for (let e = 0; e < length; e++) {
      to[o] = from[i] as number;
      o += so;
      i += si;
    }
  });
}
