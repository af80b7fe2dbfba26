/**
 * Loops for the binary ops a training step spends its elementwise time on: float add, sub, mul
 * and div (residual adds, gradient sums, scaling by a constant, bias rows). The generic strided
 * kernel calls the op through a function table, which V8 cannot inline; here each op has its own
 * loops, one per way the operands walk a row (both in order, one broadcast, both strided), and
 * arrays of one float type laid out like the output, or broadcast from one value or one row, go
 * to WebAssembly SIMD (binary-simd.ts).
 * Results are identical: each element is the same operation, rounded once to the output array.
 */
import type { BinaryOp, BroadcastLayout } from '../../backend.js';
import { sizeOf } from '../../shape.js';
import { binarySimd } from './binary-simd.js';
import type { Values } from './numeric.js';
import { broadcastRows } from './strided.js';

export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div';
type FloatArray = Float32Array | Float64Array;

/** Below this many elements the SIMD path's fixed cost (copies, a wasm call) outweighs its gain. */
const SIMD_MIN = 64;

function isFloatArray(values: Values): values is FloatArray {
  return values instanceof Float32Array || values instanceof Float64Array;
}

/**
 * How an operand read with `strides` repeats over a contiguous output of `shape`: 0 when it is
 * laid out like the output, p when the output repeats its first p elements (1: one broadcast
 * value; the row length: a broadcast row), null for any other layout.
 */
export function periodOf(strides: readonly number[], shape: readonly number[]): number | null {
  let period = 1;
  let d = shape.length - 1;
  // Innermost dimensions read in order, then only broadcast ones.
  for (; d >= 0; d--) {
    const extent = shape[d] as number;
    if (extent === 1) continue;
    if (strides[d] !== period) break;
    period *= extent;
  }
  for (; d >= 0; d--) if ((shape[d] as number) !== 1 && strides[d] !== 0) return null;
  return period === sizeOf(shape) ? 0 : period;
}

function isArithmetic(op: BinaryOp): op is ArithmeticOp {
  return op === 'add' || op === 'sub' || op === 'mul' || op === 'div';
}

/**
 * Runs `out = a op b` (out contiguous, in `layout.shape`) for the arithmetic ops on float arrays;
 * returns false, doing nothing, for other ops and integer arrays. `simd` allows the SIMD path.
 */
export function binaryArithmetic(
  op: BinaryOp,
  a: Values,
  b: Values,
  out: Values,
  layout: BroadcastLayout,
  simd: boolean,
): boolean {
  if (!isArithmetic(op) || !isFloatArray(a) || !isFloatArray(b) || !isFloatArray(out)) return false;
  const size = sizeOf(layout.shape);
  if (simd && size >= SIMD_MIN) {
    const aPeriod = periodOf(layout.aStrides, layout.shape);
    const bPeriod = periodOf(layout.bStrides, layout.shape);
    const all32 = a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array;
    const all64 = a instanceof Float64Array && b instanceof Float64Array && out instanceof Float64Array;
    if ((all32 || all64) && aPeriod !== null && bPeriod !== null && binarySimd(op, a, aPeriod, b, bPeriod, out)) {
      return true;
    }
  }
  const rows = broadcastRows(layout.shape, [layout.aStrides, layout.bStrides]);
  const length = rows.length;
  const sa = rows.inner[1] as number;
  const sb = rows.inner[2] as number;
  const starts = rows.starts;
  for (let r = 0; r < rows.count; r++, rows.next()) {
    const o = starts[0] as number;
    const ia = starts[1] as number;
    const ib = starts[2] as number;
    if (op === 'add') addRow(out, o, a, ia, sa, b, ib, sb, length);
    else if (op === 'sub') subRow(out, o, a, ia, sa, b, ib, sb, length);
    else if (op === 'mul') mulRow(out, o, a, ia, sa, b, ib, sb, length);
    else divRow(out, o, a, ia, sa, b, ib, sb, length);
  }
  return true;
}

// One row of n elements: out[o + i] = a[ia + i sa] op b[ib + i sb]. The branches hoist a
// broadcast operand and drop the multiplies where both operands run in order.
type Row = (
  out: FloatArray,
  o: number,
  a: FloatArray,
  ia: number,
  sa: number,
  b: FloatArray,
  ib: number,
  sb: number,
  n: number,
) => void;

const addRow: Row = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! + b[ib + i]!;
  else if (sb === 0) for (let i = 0, y = b[ib]!; i < n; i++) out[o + i] = a[ia + i * sa]! + y;
  else if (sa === 0) for (let i = 0, x = a[ia]!; i < n; i++) out[o + i] = x + b[ib + i * sb]!;
  else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! + b[ib + i * sb]!;
};

const subRow: Row = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! - b[ib + i]!;
  else if (sb === 0) for (let i = 0, y = b[ib]!; i < n; i++) out[o + i] = a[ia + i * sa]! - y;
  else if (sa === 0) for (let i = 0, x = a[ia]!; i < n; i++) out[o + i] = x - b[ib + i * sb]!;
  else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! - b[ib + i * sb]!;
};

const mulRow: Row = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! * b[ib + i]!;
  else if (sb === 0) for (let i = 0, y = b[ib]!; i < n; i++) out[o + i] = a[ia + i * sa]! * y;
  else if (sa === 0) for (let i = 0, x = a[ia]!; i < n; i++) out[o + i] = x * b[ib + i * sb]!;
  else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! * b[ib + i * sb]!;
};

const divRow: Row = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! / b[ib + i]!;
  else if (sb === 0) for (let i = 0, y = b[ib]!; i < n; i++) out[o + i] = a[ia + i * sa]! / y;
  else if (sa === 0) for (let i = 0, x = a[ia]!; i < n; i++) out[o + i] = x / b[ib + i * sb]!;
  else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! / b[ib + i * sb]!;
};
