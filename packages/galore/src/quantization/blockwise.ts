/**
 * A float tensor held as 8-bit codes plus one float32 scale (the absolute maximum) per block, as
 * bitsandbytes' block-wise 8-bit optimizer states are. Quantise / dequantise run GaLore's
 * quantizeBlockwise / dequantizeBlockwise kernels (./kernels.ts) against a 256-entry codebook.
 *
 * Round-trip error: an element x of a block with absmax a is stored as the codebook entry nearest
 * to x / a, so |x - x'| <= a * (half the gap between the two codebook entries around x / a).
 */
import { type Backend, empty, keep, runKernel, type Tensor, tensor, withCategory } from '@galore-ts/core';
import './kernels.js';
import { dynamicQuantizationMap } from './dynamic-map.js';

export const BLOCK_SIZES = [256, 2048] as const;
export type BlockSize = (typeof BLOCK_SIZES)[number];

/** Codebooks per backend, made once: they are constants (and tiny). */
const codebooks = new WeakMap<Backend, { signed: Tensor; unsigned: Tensor }>();

/** The signed (first moment) or unsigned (second moment) dynamic map as a float32 tensor on `backend`. */
export function codebookOn(backend: Backend, signed: boolean): Tensor {
  let books = codebooks.get(backend);
  if (!books) {
    // 2 KiB per backend, never freed; counted as 'other', not as any optimizer's state.
    books = withCategory('other', () => ({
      signed: keep(tensor(dynamicQuantizationMap(true), { dtype: 'float32', backend })),
      unsigned: keep(tensor(dynamicQuantizationMap(false), { dtype: 'float32', backend })),
    }));
    codebooks.set(backend, books);
  }
  return signed ? books.signed : books.unsigned;
}

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/** Bytes a quantised state of `size` elements holds: one code each plus a float32 scale per block. */
export function quantizedBytes(size: number, blockSize: number): number {
  return size + 4 * blockCount(size, blockSize);
}

/** Quantises `x` into fresh codes (uint8, x's shape) and absmax (float32, one per block). */
export function quantize(x: Tensor, signed: boolean, blockSize: number): { codes: Tensor; absmax: Tensor } {
  const backend = x.backend;
  const codes = empty(x.shape, { dtype: 'uint8', backend });
  const absmax = empty([blockCount(x.size, blockSize)], { dtype: 'float32', backend });
  quantizeInto(x, signed, blockSize, codes, absmax);
  return { codes, absmax };
}

/** Quantises `x` into existing codes and absmax storages. */
export function quantizeInto(x: Tensor, signed: boolean, blockSize: number, codes: Tensor, absmax: Tensor): void {
  runKernel('quantizeBlockwise', { x, codebook: codebookOn(x.backend, signed), codes, absmax }, { blockSize });
}

/** Dequantises into a fresh float32 tensor of `shape`. */
export function dequantize(codes: Tensor, absmax: Tensor, signed: boolean, blockSize: number): Tensor {
  const backend = codes.backend;
  const out = empty(codes.shape, { dtype: 'float32', backend });
  runKernel('dequantizeBlockwise', { codes, codebook: codebookOn(backend, signed), absmax, out }, { blockSize });
  return out;
}
