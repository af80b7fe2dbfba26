/**
 * Flat loops for the binary ops a training step spends its elementwise time on: float add, sub,
 * mul and div where each operand is either laid out like the output or a single broadcast value
 * (residual adds, gradient sums, scaling by a constant). The generic strided kernel calls the op
 * through a function table, which V8 cannot inline; here each op has its own loop. Results are
 * identical: the same double-precision operation, stored into the same output array.
 */
import type { BinaryOp, BroadcastLayout } from '../../backend.js';
import type { Values } from './numeric.js';

type FloatArray = Float32Array | Float64Array;

function isFloatArray(values: Values): values is FloatArray {
  return values instanceof Float32Array || values instanceof Float64Array;
}

/** 1 when the operand walks the output's elements in order, 0 when it is one broadcast value, else -1. */
function flatStep(strides: readonly number[], shape: readonly number[]): number {
  let broadcast = true;
  let contiguous = true;
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const extent = shape[d] as number;
    const stride = strides[d] as number;
    if (extent === 1) continue;
    if (stride !== 0) broadcast = false;
    if (stride !== expected) contiguous = false;
    expected *= extent;
  }
  if (broadcast) return 0;
  return contiguous ? 1 : -1;
}

/** Runs `out = a op b` when a flat loop applies; returns false (doing nothing) otherwise. */
export function binaryFlat(op: BinaryOp, a: Values, b: Values, out: Values, layout: BroadcastLayout): boolean {
  if (!isFloatArray(a) || !isFloatArray(b) || !isFloatArray(out)) return false;
  if (op !== 'add' && op !== 'sub' && op !== 'mul' && op !== 'div') return false;
  const sa = flatStep(layout.aStrides, layout.shape);
  const sb = flatStep(layout.bStrides, layout.shape);
  if (sa < 0 || sb < 0) return false;
  flatLoop(op, a, sa, b, sb, out);
  return true;
}

type FlatOp = 'add' | 'sub' | 'mul' | 'div';

function flatLoop(op: FlatOp, a: FloatArray, sa: number, b: FloatArray, sb: number, out: FloatArray): void {
  const n = out.length;
  if (op === 'add') for (let i = 0, ia = 0, ib = 0; i < n; i++, ia += sa, ib += sb) out[i] = a[ia]! + b[ib]!;
  else if (op === 'sub') for (let i = 0, ia = 0, ib = 0; i < n; i++, ia += sa, ib += sb) out[i] = a[ia]! - b[ib]!;
  else if (op === 'mul') for (let i = 0, ia = 0, ib = 0; i < n; i++, ia += sa, ib += sb) out[i] = a[ia]! * b[ib]!;
  else for (let i = 0, ia = 0, ib = 0; i < n; i++, ia += sa, ib += sb) out[i] = a[ia]! / b[ib]!;
}
