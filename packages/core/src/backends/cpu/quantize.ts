/**
 * Blockwise 8-bit quantisation against a sorted codebook (as bitsandbytes' 8-bit optimizers do):
 * each block of `blockSize` elements is scaled by its absolute maximum, and each scaled value is
 * stored as the index of the nearest codebook entry.
 */
import type { QuantizeParams } from '../../backend.js';
import { checkDequantizeArgs, checkQuantizeArgs } from '../kernel-checks.js';
import { type FloatValues, openFloatOutput, precisionOf, readFloats, rounder } from './numeric.js';
import type { CpuStorage } from './storage.js';

/** The codebook's values; they must be sorted ascending (its dtype and size are checked already). */
function sortedCodebook(codebook: CpuStorage, kernel: string): FloatValues {
  const values = readFloats(codebook);
  for (let i = 1; i < values.length; i++) {
    if (!((values[i] as number) >= (values[i - 1] as number))) {
      throw new RangeError(
        `${kernel}: codebook must be sorted ascending; entry ${i} (${values[i]}) < entry ${i - 1} (${values[i - 1]})`,
      );
    }
  }
  return values;
}

/** Index of the entry nearest to `value` in an ascending codebook; ties go to the lower index. */
export function nearestCode(codebook: FloatValues, value: number): number {
  let low = 0;
  let high = codebook.length - 1;
  // Binary search for the first entry >= value.
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((codebook[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  if (low > 0 && value - (codebook[low - 1] as number) <= (codebook[low] as number) - value) return low - 1;
  return low;
}

export function quantizeBlockwise(
  x: CpuStorage,
  codebook: CpuStorage,
  codes: CpuStorage,
  absmax: CpuStorage,
  params: QuantizeParams,
): void {
  const kernel = 'CpuBackend.quantizeBlockwise';
  // A 16-bit scale would be rounded after the codes were chosen against it, so it is refused.
  const blocks = checkQuantizeArgs(kernel, { x, codebook, codes, absmax }, params, ['float32', 'float64']);
  const book = sortedCodebook(codebook, kernel);
  const values = readFloats(x);
  const out = codes.data as Uint8Array;
  const precision = precisionOf(x, codebook);
  const round = rounder(precision);
  const scales = openFloatOutput(absmax, precision);
  const { blockSize } = params;
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, values.length);
    let max = 0;
    for (let i = start; i < end; i++) {
      const magnitude = Math.abs(values[i] as number);
      if (!Number.isFinite(magnitude))
        throw new RangeError(`${kernel}: x[${i}] is ${values[i]}; quantisation needs finite input`);
      if (magnitude > max) max = magnitude;
    }
    scales.values[b] = max;
    // Codes are chosen against the scale as stored, so dequantisation reproduces the choice.
    const scale = scales.values[b] as number;
    for (let i = start; i < end; i++) {
      const normalised = scale === 0 ? 0 : round((values[i] as number) / scale);
      out[i] = nearestCode(book, normalised);
    }
  }
  scales.commit();
}

export function dequantizeBlockwise(
  codes: CpuStorage,
  codebook: CpuStorage,
  absmax: CpuStorage,
  out: CpuStorage,
  params: QuantizeParams,
): void {
  const kernel = 'CpuBackend.dequantizeBlockwise';
  checkDequantizeArgs(kernel, { codes, codebook, absmax, out }, params);
  const book = sortedCodebook(codebook, kernel);
  const scales = readFloats(absmax);
  const indices = codes.data as Uint8Array;
  const target = openFloatOutput(out, precisionOf(codebook, absmax));
  const y = target.values;
  const { blockSize } = params;
  for (let i = 0; i < indices.length; i++) {
    const code = indices[i] as number;
    if (code >= book.length)
      throw new RangeError(`${kernel}: codes[${i}] = ${code} is past the codebook's ${book.length} entries`);
    y[i] = (book[code] as number) * (scales[Math.floor(i / blockSize)] as number);
  }
  target.commit();
}
