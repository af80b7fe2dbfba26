/** Elementwise kernels: unary ops, broadcasting binary ops and `where`. */
import type { BinaryOp, BroadcastLayout, UnaryOp } from '../../backend.js';
import { contiguousStrides } from '../../shape.js';
import { binaryArithmetic } from './elementwise-fast.js';
import { openOutput, precisionOf, readValues } from './numeric.js';
import type { CpuStorage } from './storage.js';
import { StridedRows } from './strided.js';

type Unary = (x: number) => number;
type Binary = (a: number, b: number) => number;

const UNARY: Readonly<Record<UnaryOp, Unary>> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  relu: (x) => Math.max(x, 0),
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sin: Math.sin,
  cos: Math.cos,
};

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
  const f = UNARY[op];
  const input = readValues(x);
  const target = openOutput(out, precisionOf(x));
  const values = target.values;
  for (let i = 0; i < input.length; i++) values[i] = f(input[i] as number);
  target.commit();
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
    const rows = new StridedRows(layout.shape, [
      { strides: contiguousStrides(layout.shape), offset: 0 },
      { strides: layout.aStrides, offset: 0 },
      { strides: layout.bStrides, offset: 0 },
    ]);
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
  const rows = new StridedRows(layout.shape, [
    { strides: contiguousStrides(layout.shape), offset: 0 },
    { strides: layout.condStrides!, offset: 0 },
    { strides: layout.aStrides, offset: 0 },
    { strides: layout.bStrides, offset: 0 },
  ]);
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
