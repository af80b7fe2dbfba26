/**
 * Per-row cross-entropy of logits against int32 targets, with an ignore index, and its gradient.
 * With `simd`, float32 logits and outputs run on the WebAssembly SIMD row kernels (softmax-simd.ts);
 * float64 (exact float64 maths), 16-bit floats and `simd: false` keep the JS loops.
 */

import type { KernelIO, KernelParams } from '../../backend.js';
import { DATA_ERROR, dataError } from '../../kernels/data-errors.js';
import { expFor } from './fast-exp.js';
import { type FloatValues, float32Arrays, openFloatOutput, openFloatPair, precisionOf, readFloats } from './numeric.js';
import { crossEntropyBackwardSimd, crossEntropySimd } from './softmax-simd.js';
import type { CpuStorage } from './storage.js';

/** The targets, each a class or the ignore index (a data error otherwise). */
function checkTargets(targets: CpuStorage, rows: number, cols: number, ignoreIndex: number): Int32Array {
  const values = targets.data as Int32Array;
  for (let r = 0; r < rows; r++) {
    const t = values[r] as number;
    if (t !== ignoreIndex && (t < 0 || t >= cols)) throw dataError(DATA_ERROR.target, t);
  }
  return values;
}

/** max and log(sum(exp(x - max))) of one row. */
function rowLogSumExp(
  x: FloatValues,
  base: number,
  cols: number,
  exp: (x: number) => number,
): { max: number; logSum: number } {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < cols; j++) max = Math.max(max, x[base + j] as number);
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += exp((x[base + j] as number) - max);
  return { max, logSum: Math.log(sum) };
}

export const crossEntropy = (
  { logits, targets, loss }: KernelIO<'crossEntropy', CpuStorage>,
  p: KernelParams<'crossEntropy'>,
  simd = false,
): void => {
  const { rows, cols, ignoreIndex } = p;
  const t = checkTargets(targets, rows, cols, ignoreIndex);
  const f32 = simd ? float32Arrays(logits, loss) : null;
  if (f32 && crossEntropySimd(f32[0], t, f32[1], rows, cols, ignoreIndex)) return;
  const x = readFloats(logits);
  const precision = precisionOf(logits);
  const exp = expFor(precision);
  const target = openFloatOutput(loss, precision);
  const out = target.values;
  for (let r = 0; r < rows; r++) {
    const label = t[r] as number;
    if (label === ignoreIndex) {
      out[r] = 0;
      continue;
    }
    const base = r * cols;
    const { max, logSum } = rowLogSumExp(x, base, cols, exp);
    out[r] = max + logSum - (x[base + label] as number);
  }
  target.commit();
};

/**
 * dx = dloss (softmax(x) - onehot(target)). Each row's exponentials are computed once, into dx,
 * and scaled by dloss / their sum: one exp per element instead of two.
 */
export const crossEntropyBackward = (
  io: KernelIO<'crossEntropyBackward', CpuStorage>,
  p: KernelParams<'crossEntropyBackward'>,
  simd = false,
): void => {
  const { logits, targets, dloss, dx } = io;
  const { rows, cols, ignoreIndex } = p;
  const t = checkTargets(targets, rows, cols, ignoreIndex);
  const f32 = simd ? float32Arrays(logits, dloss, dx) : null;
  if (f32 && crossEntropyBackwardSimd(...f32, t, rows, cols, ignoreIndex)) return;
  const { a: x, b: g, out, commit } = openFloatPair(logits, dloss, dx);
  const exp = expFor(precisionOf(logits, dloss));
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const end = base + cols;
    const label = t[r] as number;
    if (label === ignoreIndex) {
      out.fill(0, base, end);
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let j = base; j < end; j++) max = Math.max(max, x[j] as number);
    let sum = 0;
    for (let j = base; j < end; j++) {
      const e = exp((x[j] as number) - max);
      out[j] = e;
      sum += e;
    }
    const scale = (g[r] as number) / sum;
    for (let j = base; j < end; j++) out[j] = scale * (out[j] as number);
    // The target's probability minus one, from its exponential read back from x (out may be rounded).
    out[base + label] = scale * exp((x[base + label] as number) - max) - (g[r] as number);
  }
  commit();
};
