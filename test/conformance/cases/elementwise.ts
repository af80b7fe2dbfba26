/** Conformance cases for elementwise kernels (one per op) and reductions. */
import fc from 'fast-check';
import type { BinaryOp, UnaryOp } from '../../../packages/core/src/backend.js';
import type { DType } from '../../../packages/core/src/dtype.js';
import { floatDType, kernelCase, seed } from '../case.js';
import { seededValues } from '../io.js';
import { broadcastOperand, shapeArbitrary, sizeOf } from '../layouts.js';

/** Input ranges where each op is well conditioned (and inside GPU accuracy guarantees). */
const UNARY_RANGES: Record<UnaryOp, [number, number]> = {
  neg: [-10, 10],
  exp: [-10, 10],
  log: [0.05, 20],
  sqrt: [0, 20],
  rsqrt: [0.05, 20],
  abs: [-10, 10],
  sigmoid: [-12, 12],
  silu: [-12, 12],
  tanh: [-6, 6],
  relu: [-10, 10],
  sign: [-2, 2],
  square: [-10, 10],
  reciprocal: [0.1, 10],
  sin: [-Math.PI, Math.PI],
  cos: [-Math.PI, Math.PI],
};

export function unaryCase(op: UnaryOp) {
  return kernelCase({
    name: `unary(${op})`,
    draw: (c) => fc.record({ dtype: floatDType(c), size: fc.integer({ min: 0, max: 300 }), seed }),
    run: (io, p) => {
      const [low, high] = UNARY_RANGES[op];
      const values = seededValues(p.size, p.seed, low, high);
      // sign and relu must also see exact zeros.
      if (values.length > 2) values[1] = 0;
      const out = io.empty(p.dtype, p.size);
      io.backend.run('unary', { x: io.upload(p.dtype, values), out }, { op });
      return { out: { storage: out, tolerance: `unary(${op})` } };
    },
  });
}

const COMPARISONS: readonly BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
/** Ops that integer tensors use (indices, masks); division is left to floats. */
const INTEGER_BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'maximum', 'minimum', ...COMPARISONS];

function binaryInputs(op: BinaryOp, dtype: DType, size: number, s: number, which: 'a' | 'b'): number[] {
  if (dtype === 'int32') return seededValues(size, s, -1000, 1000).map(Math.round);
  if (op === 'pow') return which === 'a' ? seededValues(size, s, 0.1, 4) : seededValues(size, s, -2, 2);
  if (op === 'div' && which === 'b') return seededValues(size, s, 0.25, 4).map((v, i) => (i % 2 ? -v : v));
  // Quarter steps make equal elements common, so eq/ne/le/ge see ties.
  return seededValues(size, s, -4, 4).map((v) => Math.round(v * 4) / 4);
}

export function binaryCase(op: BinaryOp) {
  return kernelCase({
    name: `binary(${op})`,
    draw: (c) => {
      const dtypes =
        INTEGER_BINARY.includes(op) && c.allDTypes.includes('int32')
          ? [...c.floatDTypes, 'int32' as DType]
          : c.floatDTypes;
      return fc.record({
        dtype: fc.constantFrom(...dtypes),
        layout: shapeArbitrary.chain((shape) =>
          fc.tuple(fc.constant(shape), broadcastOperand(shape), broadcastOperand(shape)),
        ),
        seed,
      });
    },
    run: (io, p) => {
      const [shape, a, b] = p.layout;
      const sa = io.upload(p.dtype, binaryInputs(op, p.dtype, a.size, p.seed, 'a'));
      const sb = io.upload(p.dtype, binaryInputs(op, p.dtype, b.size, p.seed + 1, 'b'));
      const out = io.empty(COMPARISONS.includes(op) ? 'uint8' : p.dtype, sizeOf(shape));
      io.backend.run('binary', { a: sa, b: sb, out }, { op, shape, aStrides: a.strides, bStrides: b.strides });
      return { out: { storage: out, tolerance: `binary(${op})` } };
    },
  });
}

export const whereCase = kernelCase({
  name: 'where',
  draw: (c) =>
    fc.record({
      dtype: floatDType(c),
      layout: shapeArbitrary.chain((shape) =>
        fc.tuple(fc.constant(shape), broadcastOperand(shape), broadcastOperand(shape), broadcastOperand(shape)),
      ),
      seed,
    }),
  run: (io, p) => {
    const [shape, cond, a, b] = p.layout;
    const sc = io.upload(
      'uint8',
      seededValues(cond.size, p.seed).map((v) => (v > 0 ? 1 : 0)),
    );
    const sa = io.upload(p.dtype, seededValues(a.size, p.seed + 1));
    const sb = io.upload(p.dtype, seededValues(b.size, p.seed + 2));
    const out = io.empty(p.dtype, sizeOf(shape));
    io.backend.run(
      'where',
      { cond: sc, a: sa, b: sb, out },
      { shape, aStrides: a.strides, bStrides: b.strides, condStrides: cond.strides },
    );
    return { out: { storage: out, tolerance: 'where' } };
  },
});

const reduceLayout = fc.record({
  outer: fc.integer({ min: 1, max: 6 }),
  reduce: fc.integer({ min: 1, max: 40 }),
  inner: fc.integer({ min: 1, max: 6 }),
});

export function reduceCase(op: 'sum' | 'max' | 'min') {
  return kernelCase({
    name: `reduce(${op})`,
    draw: (c) => {
      const dtypes =
        op !== 'min' && c.allDTypes.includes('int32') ? [...c.floatDTypes, 'int32' as DType] : c.floatDTypes;
      return fc.record({ dtype: fc.constantFrom(...dtypes), layout: reduceLayout, seed });
    },
    run: (io, p) => {
      const { outer, reduce, inner } = p.layout;
      const values = seededValues(outer * reduce * inner, p.seed, -10, 10);
      const x = io.upload(p.dtype, p.dtype === 'int32' ? values.map(Math.round) : values);
      const out = io.empty(p.dtype, outer * inner);
      io.backend.run('reduce', { x, out }, { op, ...p.layout });
      return { out: { storage: out, tolerance: `reduce(${op})` } };
    },
  });
}

export const argmaxCase = kernelCase({
  name: 'argmax',
  draw: (c) => fc.record({ dtype: floatDType(c), layout: reduceLayout, seed }),
  run: (io, p) => {
    const { outer, reduce, inner } = p.layout;
    // Coarse values make ties, where the first maximum must win.
    const values = seededValues(outer * reduce * inner, p.seed, -4, 4).map(Math.round);
    const out = io.empty('int32', outer * inner);
    io.backend.run('argmax', { x: io.upload(p.dtype, values), out }, p.layout);
    return { out: { storage: out, tolerance: 'argmax' } };
  },
});

export const UNARY_OPS = Object.keys(UNARY_RANGES) as UnaryOp[];
export const BINARY_OPS: readonly BinaryOp[] = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  ...COMPARISONS,
];
