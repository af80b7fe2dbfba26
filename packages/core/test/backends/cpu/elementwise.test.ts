import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../../../src/backend.js';
import { bfloat16BitsToFloat32, float32ToBfloat16Bits } from '../../../src/dtype.js';
import { backend, dotIndex, empty, expectClose, randomValues, storage, stridesOf, unravel, values } from './helpers.js';

/**
 * A broadcast operand: its own shape (1 where broadcast), stored with its dimensions in the order
 * `perm` (so strides need not be row-major), and the strides the kernel reads it with.
 */
interface Operand {
  storedShape: number[];
  strides: number[];
  size: number;
}

function operandArbitrary(shape: number[]): fc.Arbitrary<Operand> {
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      fc.shuffledSubarray(
        shape.map((_, d) => d),
        { minLength: shape.length, maxLength: shape.length },
      ),
    )
    .map(([broadcast, perm]) => {
      const own = shape.map((e, d) => (broadcast[d] ? 1 : e));
      const storedShape = perm.map((d) => own[d] as number);
      const storedStrides = stridesOf(storedShape);
      const strides = new Array<number>(shape.length).fill(0);
      perm.forEach((d, position) => {
        strides[d] = (own[d] as number) === 1 ? 0 : (storedStrides[position] as number);
      });
      return { storedShape, strides, size: own.reduce((p, e) => p * e, 1) };
    });
}

const layoutArbitrary = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 })
  .chain((shape) =>
    fc.tuple(fc.constant(shape), operandArbitrary(shape), operandArbitrary(shape), operandArbitrary(shape)),
  );

const BINARY_REFERENCE: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  // Exact for the quarter-step inputs used below.
  maximum: (a, b) => (a + b + Math.abs(a - b)) / 2,
  minimum: (a, b) => (a + b - Math.abs(a - b)) / 2,
  eq: (a, b) => Number(a === b),
  ne: (a, b) => Number(a !== b),
  lt: (a, b) => Number(a < b),
  le: (a, b) => Number(a <= b),
  gt: (a, b) => Number(a > b),
  ge: (a, b) => Number(a >= b),
};
const COMPARISONS = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

describe('binary', () => {
  it('matches a per-element reference for random broadcasting layouts, ops and float dtypes', () => {
    fc.assert(
      fc.property(
        layoutArbitrary,
        fc.constantFrom(...(Object.keys(BINARY_REFERENCE) as BinaryOp[])),
        fc.constantFrom('float32', 'float64', 'bfloat16'),
        fc.integer(),
        ([shape, a, b], op, dtype, seed) => {
          // Small positive bases keep pow finite; a few repeated values exercise eq/ne.
          const av = randomValues(a.size, seed, 2).map((x) =>
            op === 'pow' ? Math.abs(x) + 0.1 : Math.round(x * 4) / 4,
          );
          const bv = randomValues(b.size, seed + 1, 2).map((x) => Math.round(x * 4) / 4 || 0.5);
          const sa = storage(dtype, av);
          const sb = storage(dtype, bv);
          const size = shape.reduce((p, e) => p * e, 1);
          const outDtype = COMPARISONS.has(op) ? 'uint8' : dtype;
          const out = empty(outDtype, size);
          backend.run('binary', { a: sa, b: sb, out }, { op, shape, aStrides: a.strides, bStrides: b.strides });
          const stored = (s: typeof sa) => values(s);
          const aStored = stored(sa);
          const bStored = stored(sb);
          const expected = Array.from({ length: size }, (_, i) => {
            const index = unravel(i, shape);
            const r = (BINARY_REFERENCE[op] as (x: number, y: number) => number)(
              aStored[dotIndex(index, a.strides)] as number,
              bStored[dotIndex(index, b.strides)] as number,
            );
            if (outDtype === 'uint8' || dtype === 'float64') return r;
            if (dtype === 'bfloat16') return bfloat16BitsToFloat32(float32ToBfloat16Bits(r));
            return Math.fround(r);
          });
          expectClose(values(out), expected, 0, dtype === 'float64' ? 1e-15 : 0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps int32 semantics: products wrap like int32, quotients truncate', () => {
    const a = storage('int32', [2 ** 30, 7, -7, 100000]);
    const b = storage('int32', [4, 2, 2, 100000]);
    const layout = { shape: [4], aStrides: [1], bStrides: [1] };
    const out = empty('int32', 4);
    backend.run('binary', { a, b, out }, { op: 'mul', ...layout });
    expect(values(out)).toEqual([0, 14, -14, 1410065408]);
    backend.run('binary', { a, b, out }, { op: 'div', ...layout });
    expect(values(out)).toEqual([2 ** 28, 3, -3, 1]);
    backend.run('binary', { a, b, out }, { op: 'add', ...layout });
    expect(values(out)).toEqual([2 ** 30 + 4, 9, -5, 200000]);
  });

  it('compares uint8 and int32 inputs into uint8', () => {
    const a = storage('uint8', [0, 1, 2, 255]);
    const b = storage('int32', [0, 2, 1, 255]);
    const out = empty('uint8', 4);
    backend.run('binary', { a, b, out }, { op: 'lt', shape: [4], aStrides: [1], bStrides: [1] });
    expect(values(out)).toEqual([0, 1, 0, 0]);
  });

  it('rounds float32 results even when the output is float64', () => {
    const a = storage('float32', [0.1]);
    const b = storage('float64', [0.2]);
    const out = empty('float64', 1);
    backend.run('binary', { a, b, out }, { op: 'add', shape: [1], aStrides: [1], bStrides: [1] });
    expect(values(out)[0]).toBe(Math.fround(Math.fround(0.1) + 0.2));
    const c = storage('float64', [0.1]);
    backend.run('binary', { a: c, b, out }, { op: 'add', shape: [1], aStrides: [1], bStrides: [1] });
    expect(values(out)[0]).toBe(0.1 + 0.2);
  });

  it('rejects bad layouts with the expected and received sizes', () => {
    const a = storage('float32', [1, 2, 3]);
    const out = empty('float32', 3);
    expect(() =>
      backend.run('binary', { a, b: a, out }, { op: 'add', shape: [4], aStrides: [1], bStrides: [1] }),
    ).toThrow(/out has 3 elements; expected product of shape \[4\] = 4/);
    expect(() =>
      backend.run('binary', { a, b: a, out }, { op: 'add', shape: [3], aStrides: [2], bStrides: [1] }),
    ).toThrow(/outside its storage of 3 elements/);
    expect(() =>
      backend.run('binary', { a, b: a, out }, { op: 'add', shape: [3], aStrides: [1, 1], bStrides: [1] }),
    ).toThrow(/one entry per dimension/);
    expect(() =>
      backend.run('binary', { a, b: a, out }, { op: 'eq', shape: [3], aStrides: [1], bStrides: [1] }),
    ).toThrow(/out must be uint8; got float32/);
    expect(() =>
      backend.run('binary', { a, b: a, out }, { op: 'hypot' as BinaryOp, shape: [3], aStrides: [1], bStrides: [1] }),
    ).toThrow(/unknown binary op/);
  });
});

describe('where', () => {
  it('selects per element with three broadcast operands', () => {
    fc.assert(
      fc.property(layoutArbitrary, fc.integer(), ([shape, c, a, b], seed) => {
        const cv = randomValues(c.size, seed).map((x) => (x > 0 ? 1 : 0));
        const sc = storage('uint8', cv);
        const sa = storage('float32', randomValues(a.size, seed + 1));
        const sb = storage('float32', randomValues(b.size, seed + 2));
        const size = shape.reduce((p, e) => p * e, 1);
        const out = empty('float32', size);
        backend.run(
          'where',
          { cond: sc, a: sa, b: sb, out },
          { shape, aStrides: a.strides, bStrides: b.strides, condStrides: c.strides },
        );
        const [cs, as, bs] = [values(sc), values(sa), values(sb)];
        const expected = Array.from({ length: size }, (_, i) => {
          const index = unravel(i, shape);
          return cs[dotIndex(index, c.strides)]
            ? (as[dotIndex(index, a.strides)] as number)
            : (bs[dotIndex(index, b.strides)] as number);
        });
        expect(values(out)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('requires condStrides', () => {
    const a = storage('float32', [1]);
    expect(() =>
      backend.run('where', { cond: a, a, b: a, out: empty('float32', 1) }, {
        shape: [1],
        aStrides: [1],
        bStrides: [1],
      } as never),
    ).toThrow(/condStrides is required/);
  });
});

const UNARY_REFERENCE: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => 0 - x,
  exp: (x) => Math.E ** x,
  log: (x) => Math.log(x),
  sqrt: (x) => x ** 0.5,
  rsqrt: (x) => x ** -0.5,
  abs: (x) => (x < 0 ? -x : x),
  sigmoid: (x) => Math.exp(x) / (1 + Math.exp(x)),
  silu: (x) => (x * Math.exp(x)) / (1 + Math.exp(x)),
  tanh: (x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1),
  relu: (x) => Math.max(x, 0),
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  square: (x) => x ** 2,
  reciprocal: (x) => x ** -1,
  sin: (x) => Math.cos(x - Math.PI / 2),
  cos: (x) => Math.sin(x + Math.PI / 2),
};

describe('unary', () => {
  it.each(Object.keys(UNARY_REFERENCE) as UnaryOp[])(
    '%s matches an independent formula in float64 and float32',
    (op) => {
      // Positive inputs for log/sqrt/rsqrt; a spread for the rest.
      const positive = op === 'log' || op === 'sqrt' || op === 'rsqrt';
      const xs = randomValues(64, op.length, 4).map((x) => (positive ? Math.abs(x) + 0.01 : x));
      const f = UNARY_REFERENCE[op];
      for (const dtype of ['float64', 'float32'] as const) {
        const x = storage(dtype, xs);
        const out = empty(dtype, xs.length);
        backend.run('unary', { x, out }, { op });
        const stored = values(x);
        const expected = stored.map(f);
        // Independent formulas differ from Math's by a few float64 ulps; float32 adds one rounding.
        expectClose(values(out), expected, 1e-14, dtype === 'float64' ? 1e-13 : 2 ** -23);
      }
    },
  );

  it('works on int32 and writes float16', () => {
    const x = storage('int32', [-3, 0, 5]);
    const out = empty('int32', 3);
    backend.run('unary', { x, out }, { op: 'abs' });
    expect(values(out)).toEqual([3, 0, 5]);
    const half = empty('float16', 3);
    backend.run('unary', { x, out: half }, { op: 'square' });
    expect(values(half)).toEqual([9, 0, 25]);
  });

  it('rejects an output of another size and unknown ops', () => {
    const x = storage('float32', [1, 2]);
    expect(() => backend.run('unary', { x, out: empty('float32', 3) }, { op: 'exp' })).toThrow(
      /out has 3 elements; expected x.size = 2/,
    );
    expect(() => backend.run('unary', { x, out: empty('float32', 2) }, { op: 'erf' as UnaryOp })).toThrow(
      /unknown unary op "erf"/,
    );
  });
});
