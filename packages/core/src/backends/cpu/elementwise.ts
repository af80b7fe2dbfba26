/** Elementwise kernels: unary ops, broadcasting binary ops and `where`. */
import type { BinaryOp, BroadcastLayout, UnaryOp } from '../../backend.js';
import { binaryArithmetic } from './elementwise-fast.js';
import { openOutput, precisionOf, readValues, type Values } from './numeric.js';
import type { CpuStorage } from './storage.js';
import { broadcastRows } from './strided.js';

type Binary = (a: number, b: number) => number;

const ARITHMETIC: Readonly<Record<string, Binary>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
};

const COMPARISON: Readonly<Record<string, Binary>> = {
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

export function isComparison(op: BinaryOp): boolean {
  return Object.hasOwn(COMPARISON, op);
}

export function unary(op: UnaryOp, x: CpuStorage, out: CpuStorage): void {
  const input = readValues(x);
  const target = openOutput(out, precisionOf(x));
  mapInto(op, input, target.values);
  target.commit();
}

/**
 * out[i] = op(x[i]). Each op has its own loop, which V8 compiles with the operation inlined; one
 * loop calling the op through a table of functions costs a call per element.
 */
function mapInto(op: UnaryOp, x: Values, out: Values): void {
  const n = x.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]!);
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i]!));
      return;
    case 'silu':
      for (let i = 0; i < n; i++) out[i] = x[i]! / (1 + Math.exp(-x[i]!));
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = Math.max(x[i]!, 0);
      return;
    case 'sign':
      for (let i = 0; i < n; i++) out[i] = Math.sign(x[i]!);
      return;
    case 'square':
      for (let i = 0; i < n; i++) out[i] = x[i]! * x[i]!;
      return;
    case 'reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / x[i]!;
      return;
    case 'sin':
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]!);
      return;
    case 'cos':
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]!);
      return;
    default:
      throw new Error(`internal: unary op ${String(op satisfies never)}`);
  }
}

/** Integer outputs keep integer semantics: products wrap like int32 instead of losing low bits. */
function binaryFunction(op: BinaryOp, out: CpuStorage): Binary {
  const comparison = Object.hasOwn(COMPARISON, op) ? COMPARISON[op] : undefined;
  if (comparison) return comparison;
  if (op === 'mul' && out.dtype === 'int32') return Math.imul;
  return ARITHMETIC[op as keyof typeof ARITHMETIC] as Binary;
}

/** `simd` lets float32 arithmetic run on WebAssembly SIMD (elementwise-fast.ts). */
export function binary(
  op: BinaryOp,
  a: CpuStorage,
  b: CpuStorage,
  out: CpuStorage,
  layout: BroadcastLayout,
  simd = true,
): void {
  const av = readValues(a);
  const bv = readValues(b);
  const target = openOutput(out, precisionOf(a, b));
  const ov = target.values;
  if (!binaryArithmetic(op, av, bv, ov, layout, simd)) {
    const f = binaryFunction(op, out);
    const rows = broadcastRows(layout.shape, [layout.aStrides, layout.bStrides]);
    const { starts, inner, length } = rows;
    const sa = inner[1] as number;
    const sb = inner[2] as number;
    for (let r = 0; r < rows.count; r++, rows.next()) {
      const o = starts[0] as number;
      let ia = starts[1] as number;
      let ib = starts[2] as number;
      for (let i = 0; i < length; i++, ia += sa, ib += sb) ov[o + i] = f(av[ia] as number, bv[ib] as number);
    }
  }
  target.commit();
}

export function where(cond: CpuStorage, a: CpuStorage, b: CpuStorage, out: CpuStorage, layout: BroadcastLayout): void {
  const cv = readValues(cond);
  const av = readValues(a);
  const bv = readValues(b);
  const target = openOutput(out, precisionOf(a, b));
  const ov = target.values;
  const rows = broadcastRows(layout.shape, [layout.condStrides!, layout.aStrides, layout.bStrides]);
  const { starts, inner, length } = rows;
  const [, sc, sa, sb] = inner as [number, number, number, number];
  for (let r = 0; r < rows.count; r++, rows.next()) {
    const o = starts[0] as number;
    let ic = starts[1] as number;
    let ia = starts[2] as number;
    let ib = starts[3] as number;
    for (let i = 0; i < length; i++, ic += sc, ia += sa, ib += sb) {
      ov[o + i] = (cv[ic] as number) !== 0 ? (av[ia] as number) : (bv[ib] as number);
    }
  }
  target.commit();
}
