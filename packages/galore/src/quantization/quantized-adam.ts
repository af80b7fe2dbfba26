/**
 * One Adam step whose moments are stored as block-wise 8-bit codes: dequantise the moments,
 * run the backend's fused AdamW kernel, quantise them again with fresh per-block scales (what
 * bitsandbytes' 8-bit block-wise kernel does inside one launch). Large tensors are processed in
 * chunks of whole blocks, so the float32 temporaries stay small (a 131M-element embedding would
 * otherwise need a gigabyte of them).
 */
import { type AdamWParams, empty, runKernel, type Tensor, tidy } from '@galore-ts/core';
import { dequantize, quantizeInto } from './blockwise.js';

/** Elements per chunk: 4 Mi, a multiple of every block size. */
export const QUANTIZED_CHUNK = 1 << 22;

/** An 8-bit moment: codes with the shape of the values, one float32 absmax per block. */
export interface QuantizedMoment {
  codes: Tensor;
  absmax: Tensor;
  signed: boolean;
}

/**
 * target and grad are flat-compatible (same element count); the kernel updates target in place
 * (a parameter, or a zero scratch that receives the step), and m and v in place.
 */
export function quantizedAdamStep(
  target: Tensor,
  grad: Tensor,
  m: QuantizedMoment,
  v: QuantizedMoment,
  params: AdamWParams,
  blockSize: number,
  chunk = QUANTIZED_CHUNK,
): void {
  if (chunk % blockSize !== 0)
    throw new RangeError(`quantizedAdamStep: chunk ${chunk} is not a multiple of the block size ${blockSize}`);
  const size = target.size;
  for (const [name, t] of [
    ['grad', grad],
    ['m.codes', m.codes],
    ['v.codes', v.codes],
  ] as const) {
    if (t.size !== size) throw new RangeError(`quantizedAdamStep: ${name} has ${t.size} elements, the target ${size}`);
  }
  if (size <= chunk) {
    stepRange({ target, grad, m, v }, params, blockSize);
    return;
  }
  for (let start = 0; start < size; start += chunk) {
    const length = Math.min(chunk, size - start);
    tidy(() => {
      const part = {
        target: rangeOf(target, start, length),
        grad: rangeOf(grad, start, length),
        m: momentRange(m, start, length, blockSize),
        v: momentRange(v, start, length, blockSize),
      };
      stepRange(part, params, blockSize);
      writeRange(part.target, target, start);
      writeMomentRange(part.m, m, start, blockSize);
      writeMomentRange(part.v, v, start, blockSize);
    });
  }
}

/** One step of a range: the moments dequantised, the fused AdamW kernel, the moments requantised. */
function stepRange(
  { target, grad, m, v }: { target: Tensor; grad: Tensor; m: QuantizedMoment; v: QuantizedMoment },
  params: AdamWParams,
  blockSize: number,
): void {
  tidy(() => {
    const mf = dequantize(m.codes, m.absmax, m.signed, blockSize);
    const vf = dequantize(v.codes, v.absmax, v.signed, blockSize);
    runKernel('adamw', { param: target, grad, m: mf, v: vf }, params);
    quantizeInto(mf, m.signed, blockSize, m.codes, m.absmax);
    quantizeInto(vf, v.signed, blockSize, v.codes, v.absmax);
  });
}

/** `length` contiguous elements from `offset`. */
function flatView(length: number, offset: number) {
  return { shape: [length], strides: [1], offset };
}

/** A copy of elements [start, start + length) of `t`, flat. */
function rangeOf(t: Tensor, start: number, length: number): Tensor {
  const out = empty([length], { dtype: t.dtype, backend: t.backend });
  runKernel('copy', { src: t, dst: out }, { srcView: flatView(length, start), dstView: flatView(length, 0) });
  return out;
}

/** Writes flat `part` into `t` at element `start`. */
function writeRange(part: Tensor, t: Tensor, start: number): void {
  runKernel('copy', { src: part, dst: t }, { srcView: flatView(part.size, 0), dstView: flatView(part.size, start) });
}

function momentRange(q: QuantizedMoment, start: number, length: number, blockSize: number): QuantizedMoment {
  return {
    codes: rangeOf(q.codes, start, length),
    absmax: rangeOf(q.absmax, start / blockSize, Math.ceil(length / blockSize)),
    signed: q.signed,
  };
}

function writeMomentRange(part: QuantizedMoment, q: QuantizedMoment, start: number, blockSize: number): void {
  writeRange(part.codes, q.codes, start);
  writeRange(part.absmax, q.absmax, start / blockSize);
}
