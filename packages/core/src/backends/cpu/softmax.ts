/**
 * Row softmax and log-softmax (optionally causal) and their backward passes. With `simd`, float32
 * storages run on the WebAssembly SIMD row kernels (softmax-simd.ts); float64 (exact float64
 * maths), 16-bit floats and `simd: false` keep the JS loops.
 */
import type { SoftmaxParams } from '../../backend.js';
import { expFor } from './fast-exp.js';
import { float32Arrays, openFloatOutput, openFloatPair, precisionOf, readFloats } from './numeric.js';
import { softmaxBackwardSimd, softmaxSimd } from './softmax-simd.js';
import type { CpuStorage } from './storage.js';

/** Number of visible columns of each row: all of them, or q + offset + 1 under the causal mask. */
function visibleColumns(params: SoftmaxParams): (row: number) => number {
  const { cols } = params;
  return causalColumns(params) ?? (() => cols);
}

/** visibleColumns under the causal mask; null without it. */
function causalColumns({ cols, causal }: SoftmaxParams): ((row: number) => number) | null {
  if (!causal) return null;
  const { queryLen, offset } = causal;
  return (row) => Math.max(0, Math.min(cols, (row % queryLen) + offset + 1));
}

/** Scratch row of exponentials, grown on demand and reused across calls. */
let exps = new Float64Array(1024);

/**
 * Shared forward pass. Masked columns get probability 0 and log-probability -Infinity; a row with
 * no visible column (possible only with a negative causal offset) is all 0 / all -Infinity.
 */
function softmaxRows(x: CpuStorage, out: CpuStorage, params: SoftmaxParams, log: boolean, simd: boolean): void {
  const { rows, cols } = params;
  const f32 = simd ? float32Arrays(x, out) : null;
  if (f32 && softmaxSimd(...f32, rows, cols, causalColumns(params), log)) return;
  const visible = visibleColumns(params);
  const input = readFloats(x);
  const precision = precisionOf(x);
  const exp = expFor(precision);
  const target = openFloatOutput(out, precision);
  const y = target.values;
  const masked = log ? Number.NEGATIVE_INFINITY : 0;
  // Each exp once, kept in float64 so the scaled result rounds exactly as if recomputed.
  if (exps.length < cols) exps = new Float64Array(cols);
  const e = exps;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const seen = visible(r);
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < seen; j++) max = Math.max(max, input[base + j] as number);
    // An all -Infinity row would give NaN; treat it like a fully masked row.
    if (max === Number.NEGATIVE_INFINITY) {
      y.fill(masked, base, base + cols);
      continue;
    }
    let sum = 0;
    for (let j = 0; j < seen; j++) {
      const ej = exp((input[base + j] as number) - max);
      e[j] = ej;
      sum += ej;
    }
    if (log) {
      const shift = max + Math.log(sum);
      for (let j = 0; j < seen; j++) y[base + j] = (input[base + j] as number) - shift;
    } else {
      const scale = 1 / sum;
      for (let j = 0; j < seen; j++) y[base + j] = (e[j] as number) * scale;
    }
    y.fill(masked, base + seen, base + cols);
  }
  target.commit();
}

export function softmax(x: CpuStorage, out: CpuStorage, params: SoftmaxParams, simd = false): void {
  softmaxRows(x, out, params, false, simd);
}

export function logSoftmax(x: CpuStorage, out: CpuStorage, params: SoftmaxParams, simd = false): void {
  softmaxRows(x, out, params, true, simd);
}

/**
 * softmax: dx = y * (dy - sum(dy * y)) per row; log-softmax (y is its output):
 * dx = dy - exp(y) * sum(dy) per row.
 */
function backwardRows(
  y: CpuStorage,
  dy: CpuStorage,
  dx: CpuStorage,
  rows: number,
  cols: number,
  log: boolean,
  simd: boolean,
): void {
  const f32 = simd ? float32Arrays(y, dy, dx) : null;
  if (f32 && softmaxBackwardSimd(...f32, rows, cols, log)) return;
  const { a: yv, b: dyv, out, commit } = openFloatPair(y, dy, dx);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let total = 0;
    for (let j = 0; j < cols; j++) total += (dyv[base + j] as number) * (log ? 1 : (yv[base + j] as number));
    for (let j = 0; j < cols; j++) {
      const g = dyv[base + j] as number;
      const v = yv[base + j] as number;
      out[base + j] = log ? g - Math.exp(v) * total : v * (g - total);
    }
  }
  commit();
}

export function softmaxBackward(
  y: CpuStorage,
  dy: CpuStorage,
  dx: CpuStorage,
  rows: number,
  cols: number,
  simd = false,
): void {
  backwardRows(y, dy, dx, rows, cols, false, simd);
}

export function logSoftmaxBackward(
  y: CpuStorage,
  dy: CpuStorage,
  dx: CpuStorage,
  rows: number,
  cols: number,
  simd = false,
): void {
  backwardRows(y, dy, dx, rows, cols, true, simd);
}
