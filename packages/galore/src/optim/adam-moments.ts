/**
 * Where the Adam-family optimizers of this package keep their moments, shared by the plain
 * optimizers (AdamW8bit) and the GaLore ones built on them: float moments `exp_avg`/`exp_avg_sq`,
 * or bitsandbytes-style 8-bit ones (codes plus one float32 absmax per block), and how either kind
 * follows a change of GaLore subspace.
 */
import {
  type AdamWParams,
  checkOption,
  describeValue,
  type ParamState,
  runKernel,
  type StateTensors,
  type Tensor,
  tidy,
  zeros,
} from '@galore-ts/core';
import { type BasisChange, changeAdamMoments } from '../projection/subspace-change.js';
import { BLOCK_SIZES, type BlockSize, dequantize, quantize } from '../quantization/blockwise.js';
import { type QuantizedMoment, quantizedAdamStep } from '../quantization/quantized-adam.js';

export const FLOAT_MOMENT_KEYS = ['exp_avg', 'exp_avg_sq'] as const;
export const QUANTIZED_MOMENT_KEYS = [
  'exp_avg_codes',
  'exp_avg_absmax',
  'exp_avg_sq_codes',
  'exp_avg_sq_absmax',
] as const;

/** Carries the float moments into the new subspace (nothing before the first update). */
export function changeFloatMoments(tensors: StateTensors, state: ParamState, change: BasisChange): void {
  const m = state.tensors.exp_avg;
  const v = state.tensors.exp_avg_sq;
  if (!m || !v) return;
  const changed = changeAdamMoments(m, v, change);
  tensors.set(state, 'exp_avg', changed.m);
  tensors.set(state, 'exp_avg_sq', changed.v);
}

/** How 8-bit moments are stored. */
export interface EightBitOptions {
  /** Elements per quantisation block (bitsandbytes uses 256; older versions 2048). */
  blockSize: BlockSize;
  /** States with fewer elements stay float32 (bitsandbytes' min_8bit_size). */
  minQuantizedSize: number;
}

export const EIGHT_BIT_DEFAULTS: Readonly<EightBitOptions> = Object.freeze({
  blockSize: 256 as BlockSize,
  minQuantizedSize: 4096,
});

export function checkEightBitOptions(where: string, o: EightBitOptions): void {
  if (!(BLOCK_SIZES as readonly number[]).includes(o.blockSize)) {
    throw new RangeError(
      `${where}: blockSize must be one of ${BLOCK_SIZES.join(', ')}, got ${describeValue(o.blockSize)}`,
    );
  }
  const isCount = (v: number) => Number.isInteger(v) && v >= 0;
  checkOption(where, 'minQuantizedSize', o.minQuantizedSize, isCount, 'an integer >= 0');
}

/**
 * One fused AdamW step on `target` from `grad`, with moments of grad's shape: float32 (float64 for
 * float64 gradients) below `minQuantizedSize` elements, 8-bit from there on.
 */
export function eightBitAdamStep(
  tensors: StateTensors,
  state: ParamState,
  target: Tensor,
  grad: Tensor,
  o: EightBitOptions,
  params: AdamWParams,
): void {
  const backend = grad.backend;
  const computeDType = grad.dtype === 'float64' ? 'float64' : 'float32';
  if (grad.size < o.minQuantizedSize || computeDType === 'float64') {
    const make = () => zeros(grad.shape, { dtype: computeDType, backend });
    const m = tensors.get(state, 'exp_avg', make);
    const v = tensors.get(state, 'exp_avg_sq', make);
    runKernel('adamw', { param: target, grad, m, v }, params);
    return;
  }
  const blocks = Math.ceil(grad.size / o.blockSize);
  const codes = () => zeros(grad.shape, { dtype: 'uint8', backend });
  const absmax = () => zeros([blocks], { dtype: 'float32', backend });
  // Zero codes must decode to 0: with absmax 0 every code does.
  const m: QuantizedMoment = {
    codes: tensors.get(state, 'exp_avg_codes', codes),
    absmax: tensors.get(state, 'exp_avg_absmax', absmax),
    signed: true,
  };
  const v: QuantizedMoment = {
    codes: tensors.get(state, 'exp_avg_sq_codes', codes),
    absmax: tensors.get(state, 'exp_avg_sq_absmax', absmax),
    signed: false,
  };
  quantizedAdamStep(target, grad, m, v, params, o.blockSize);
}

/** Carries 8-bit (or, for small states, float) moments into the new subspace. */
export function changeEightBitMoments(
  tensors: StateTensors,
  state: ParamState,
  change: BasisChange,
  where: string,
): void {
  const t = state.tensors;
  if (!t.exp_avg_codes || !t.exp_avg_absmax || !t.exp_avg_sq_codes || !t.exp_avg_sq_absmax) {
    changeFloatMoments(tensors, state, change);
    return;
  }
  const blockSize = storedBlockSize(t.exp_avg_codes, t.exp_avg_absmax, where);
  const [mCodes, mAbsmax, vCodes, vAbsmax] = [
    t.exp_avg_codes,
    t.exp_avg_absmax,
    t.exp_avg_sq_codes,
    t.exp_avg_sq_absmax,
  ];
  tidy(() => {
    const changed = changeAdamMoments(
      dequantize(mCodes, mAbsmax, true, blockSize),
      dequantize(vCodes, vAbsmax, false, blockSize),
      change,
    );
    const newM = quantize(changed.m, true, blockSize);
    const newV = quantize(changed.v, false, blockSize);
    tensors.set(state, 'exp_avg_codes', newM.codes);
    tensors.set(state, 'exp_avg_absmax', newM.absmax);
    tensors.set(state, 'exp_avg_sq_codes', newV.codes);
    tensors.set(state, 'exp_avg_sq_absmax', newV.absmax);
  });
}

/** The block size stored moments were quantised with, from their absmax length. */
function storedBlockSize(codes: Tensor, absmax: Tensor, where: string): number {
  for (const size of BLOCK_SIZES) if (Math.ceil(codes.size / size) === absmax.size) return size;
  throw new Error(
    `${where}: stored absmax has ${absmax.size} blocks for ${codes.size} codes; no supported block size fits`,
  );
}
