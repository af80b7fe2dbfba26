/**
 * Finite-difference gradient checks (float64, CPU) of every differentiable op, on shapes drawn by
 * fast-check, broadcasting shapes included. See test/helpers/gradcheck.ts for the method.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  cast,
  cat,
  causalSelfAttention,
  clone,
  cos,
  crossEntropy,
  div,
  embedding,
  exp,
  expand,
  gelu,
  keep,
  layerNorm,
  linear,
  log,
  logSoftmax,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  narrow,
  neg,
  norm,
  permute,
  pow,
  reciprocal,
  relu,
  reshape,
  rmsNorm,
  rope,
  rsqrt,
  scaledDotProductAttention,
  sigmoid,
  silu,
  siluMul,
  sin,
  slice,
  softmax,
  sqrt,
  square,
  stack,
  sub,
  sum,
  type Tensor,
  tanh,
  tensor,
  tidy,
  transpose,
  where,
} from '../../src/index.js';
import { recordOp } from '../../src/tensor.js';
import { type Domain, domains, gradcheck, prng, randomInputs, sizeOfShape } from '../helpers/gradcheck.js';

const RUNS = { numRuns: 15 };

const dim = (max = 3) => fc.integer({ min: 1, max });
const shapeArb = (minRank = 0, maxRank = 3, maxDim = 3) =>
  fc.array(dim(maxDim), { minLength: minRank, maxLength: maxRank });
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Drops `drop` leading axes of `full` and sets the axes flagged in `ones` to 1: a shape that broadcasts to `full`. */
function derive(full: readonly number[], drop: number, ones: readonly boolean[]): number[] {
  return full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d));
}

/** Two (or three) shapes that broadcast together to a common shape. */
const broadcastShapesArb = (count: number, maxRank = 3) =>
  fc
    .record({
      full: shapeArb(0, maxRank),
      parts: fc.array(
        fc.record({ drop: fc.nat(maxRank), ones: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) }),
        {
          minLength: count,
          maxLength: count,
        },
      ),
    })
    .map(({ full, parts }) => parts.map((p) => derive(full, p.drop, p.ones)));

function check(
  label: string,
  fn: (...xs: Tensor[]) => Tensor,
  seed: number,
  specs: readonly (readonly number[] | { shape: readonly number[]; domain: Domain })[],
  options: { h?: number; tol?: number } = {},
): void {
  const rand = prng(seed);
  gradcheck(fn, randomInputs(rand, specs), { ...options, label, seed: seed + 1 });
}

describe('gradcheck: binary elementwise ops with broadcasting', () => {
  const cases: [string, (a: Tensor, b: Tensor) => Tensor, Domain, Domain][] = [
    ['add', add, domains.any, domains.any],
    ['sub', sub, domains.any, domains.any],
    ['mul', mul, domains.any, domains.any],
    ['div', div, domains.any, domains.awayFromZero],
    ['pow', pow, domains.positive, domains.any],
    // Independent continuous draws: ties have probability 0.
    ['maximum', maximum, domains.any, domains.any],
    ['minimum', minimum, domains.any, domains.any],
  ];
  for (const [name, op, da, db] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(broadcastShapesArb(2), seedArb, ([sa, sb], seed) => {
          check(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, op, seed, [
            { shape: sa!, domain: da },
            { shape: sb!, domain: db },
          ]);
        }),
        RUNS,
      );
    });
  }

  it('the same tensor on both sides (x * x, x - x, x / x)', () => {
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) => {
        check('x*x', (x) => mul(x, x), seed, [shape]);
        check('x-x', (x) => sub(x, x), seed, [shape]);
        check('x/x', (x) => div(x, x), seed, [{ shape, domain: domains.awayFromZero }]);
      }),
      { numRuns: 4 },
    );
  });

  it('scalar operands on either side', () => {
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) => {
        check('x + 2', (x) => add(x, 2), seed, [shape]);
        check('1 - x', (x) => sub(1, x), seed, [shape]);
        check('3 * x', (x) => mul(3, x), seed, [shape]);
        check('2 / x', (x) => div(2, x), seed, [{ shape, domain: domains.awayFromZero }]);
        check('x ** 3', (x) => pow(x, 3), seed, [shape]);
        check('x ** 0.5', (x) => pow(x, 0.5), seed, [{ shape, domain: domains.positive }]);
        check('2 ** x', (x) => pow(2, x), seed, [shape]);
        check('maximum(x, 0.1)', (x) => maximum(x, 0.1), seed, [{ shape, domain: domains.awayFromZero }]);
      }),
      { numRuns: 4 },
    );
  });
});

describe('gradcheck: unary ops', () => {
  const cases: [string, (x: Tensor) => Tensor, Domain][] = [
    ['neg', neg, domains.any],
    ['exp', exp, domains.any],
    ['log', log, domains.positive],
    ['sqrt', sqrt, domains.positive],
    ['rsqrt', rsqrt, domains.positive],
    ['abs', abs, domains.awayFromZero],
    ['sigmoid', sigmoid, domains.any],
    ['silu', silu, domains.any],
    ['tanh', tanh, domains.any],
    ['relu', relu, domains.awayFromZero],
    ['square', square, domains.any],
    ['reciprocal', reciprocal, domains.awayFromZero],
    ['sin', sin, domains.any],
    ['cos', cos, domains.any],
    ['clone', clone, domains.any],
  ];
  for (const [name, op, domain] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(shapeArb(), seedArb, (shape, seed) =>
          check(`${name} ${JSON.stringify(shape)}`, op, seed, [{ shape, domain }]),
        ),
        RUNS,
      );
    });
  }

  it('method chains (x.exp().mul(y).tanh())', () => {
    fc.assert(
      fc.property(broadcastShapesArb(2), seedArb, ([sa, sb], seed) =>
        check('chain', (x, y) => x.exp().mul(y).tanh().add(x.square()), seed, [sa!, sb!]),
      ),
      RUNS,
    );
  });
});

describe('gradcheck: where and cast', () => {
  it('where(cond, a, b) with three-way broadcasting', () => {
    fc.assert(
      fc.property(broadcastShapesArb(3), seedArb, ([sc, sa, sb], seed) => {
        const rand = prng(seed ^ 0x5a5a);
        const cond = tensor(
          Array.from({ length: sizeOfShape(sc!) }, () => (rand() < 0.5 ? 1 : 0)),
          { shape: sc!, dtype: 'uint8' },
        );
        try {
          check(`where ${JSON.stringify([sc, sa, sb])}`, (a, b) => where(cond, a, b), seed, [sa!, sb!]);
          check('where(cond, a, 0.5)', (a) => where(cond, a, 0.5), seed, [sa!]);
        } finally {
          cond.dispose();
        }
      }),
      RUNS,
    );
  });

  it('cast float64 -> float32 -> float64 passes the gradient through (up to float32 rounding)', () => {
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) =>
        check('cast', (x) => cast(cast(x, 'float32'), 'float64'), seed, [shape], { h: 1e-2, tol: 1e-4 }),
      ),
      RUNS,
    );
  });

  it('cast to the same dtype keeps the graph', () => {
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) =>
        check('x.to(float64)', (x) => x.to('float64').mul(x), seed, [shape]),
      ),
      { numRuns: 3 },
    );
  });
});

/** A shape of rank >= 1 and a random subset of its axes (possibly with negative indices). */
const axesArb = shapeArb(1, 4).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axes: fc.subarray([...shape.keys()], { minLength: 1 }),
    negative: fc.boolean(),
    keepdim: fc.boolean(),
  }),
);

describe('gradcheck: reductions', () => {
  const cases: [string, (x: Tensor, axes: number[] | undefined, keepdim: boolean) => Tensor][] = [
    ['sum', (x, a, k) => sum(x, a, k)],
    ['mean', (x, a, k) => mean(x, a, k)],
    // Continuous random values: no ties inside a reduction.
    ['max', (x, a, k) => max(x, a, k)],
    ['min', (x, a, k) => min(x, a, k)],
    ['norm', (x, a, k) => norm(x, 'fro', a, k)],
  ];
  for (const [name, op] of cases) {
    it(`${name} over random axes, keepdim or not`, () => {
      fc.assert(
        fc.property(axesArb, seedArb, ({ shape, axes, negative, keepdim }, seed) => {
          const list = negative ? axes.map((a) => a - shape.length) : axes;
          check(
            `${name} ${JSON.stringify(shape)} axes ${JSON.stringify(list)} keepdim ${keepdim}`,
            (x) => op(x, list, keepdim),
            seed,
            [shape],
          );
        }),
        RUNS,
      );
    });
    it(`${name} over all elements`, () => {
      fc.assert(
        fc.property(shapeArb(), seedArb, (shape, seed) =>
          check(`${name} all`, (x) => op(x, undefined, false), seed, [shape]),
        ),
        { numRuns: 4 },
      );
    });
  }
  it('max keeps working after another op consumed the same input (x.max(0) + x.sum(0))', () => {
    fc.assert(
      fc.property(shapeArb(2, 3), seedArb, (shape, seed) =>
        check('max+sum', (x) => add(max(x, 0), sum(x, 0)), seed, [shape]),
      ),
      { numRuns: 4 },
    );
  });
});

describe('gradcheck: shape ops', () => {
  it('reshape (including -1) and the flatten / view / unsqueeze / squeeze forms', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), seedArb, (shape, seed) => {
        check('reshape reversed', (x) => reshape(x, [...shape].reverse()).mul(2), seed, [shape]);
        check('reshape -1', (x) => reshape(x, [-1]).square(), seed, [shape]);
        check('unsqueeze/squeeze', (x) => x.unsqueeze(0).square().squeeze(0), seed, [shape]);
        check('flatten', (x) => x.flatten().exp(), seed, [shape]);
      }),
      { numRuns: 5 },
    );
  });

  it('permute by a random permutation', () => {
    const arb = shapeArb(1, 4).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
      }),
    );
    fc.assert(
      fc.property(arb, seedArb, ({ shape, perm }, seed) =>
        check(`permute ${JSON.stringify(perm)}`, (x) => permute(x, perm).square(), seed, [shape]),
      ),
      RUNS,
    );
  });

  it('transpose of any two axes, and the lazy .T (twice, and materialised by another op)', () => {
    const arb = shapeArb(2, 4).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        d0: fc.integer({ min: 0, max: shape.length - 1 }),
        d1: fc.integer({ min: 0, max: shape.length - 1 }),
      }),
    );
    fc.assert(
      fc.property(arb, seedArb, ({ shape, d0, d1 }, seed) => {
        check(`transpose ${d0} ${d1}`, (x) => transpose(x, d0, d1), seed, [shape]);
        check('.T', (x) => x.T, seed, [shape]);
        check('.T.T', (x) => x.T.T.mul(x), seed, [shape]);
        check('.T then exp', (x) => x.T.exp(), seed, [shape]);
        check('.T reshaped', (x) => x.T.reshape([-1]), seed, [shape]);
      }),
      RUNS,
    );
  });

  it('narrow and slice (negative indices)', () => {
    const arb = shapeArb(1, 3, 4).chain((shape) =>
      fc
        .integer({ min: 0, max: shape.length - 1 })
        .chain((axis) =>
          fc
            .tuple(fc.integer({ min: 0, max: shape[axis]! }), fc.integer({ min: 0, max: shape[axis]! }))
            .map(([p, q]) => ({ shape, axis, start: Math.min(p, q), end: Math.max(p, q) })),
        ),
    );
    fc.assert(
      fc.property(arb, seedArb, ({ shape, axis, start, end }, seed) => {
        check(`narrow ${axis} ${start} ${end}`, (x) => narrow(x, axis, start, end - start), seed, [shape]);
        check('slice negative', (x) => slice(x, axis - shape.length, start - shape[axis]!, end), seed, [shape]);
      }),
      RUNS,
    );
  });

  it('cat along a random axis, with differing sizes along it', () => {
    const arb = shapeArb(1, 3).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        axis: fc.integer({ min: 0, max: shape.length - 1 }),
        sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      }),
    );
    fc.assert(
      fc.property(arb, seedArb, ({ shape, axis, sizes }, seed) => {
        const shapes = sizes.map((s) => shape.map((d, i) => (i === axis ? s : d)));
        check(`cat ${JSON.stringify(shapes)} axis ${axis}`, (...xs) => cat(xs, axis), seed, shapes);
      }),
      RUNS,
    );
  });

  it('cat where one input does not require grad, and where one tensor appears twice', () => {
    const fixed = tensor([5, 6], { dtype: 'float64' });
    try {
      check('cat with constant', (x) => cat([x, fixed, x], 0).square(), 1, [[3]]);
    } finally {
      fixed.dispose();
    }
  });

  it('stack along a random axis', () => {
    const arb = shapeArb(0, 3).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        axis: fc.integer({ min: -shape.length - 1, max: shape.length }),
        n: fc.integer({ min: 1, max: 3 }),
      }),
    );
    fc.assert(
      fc.property(arb, seedArb, ({ shape, axis, n }, seed) =>
        check(
          `stack ${JSON.stringify(shape)} x${n} axis ${axis}`,
          (...xs) => stack(xs, axis),
          seed,
          Array.from({ length: n }, () => shape),
        ),
      ),
      RUNS,
    );
  });

  it('expand (size-1 axes and new leading axes, -1 keeps a size)', () => {
    const arb = fc
      .record({
        full: shapeArb(0, 3),
        drop: fc.nat(3),
        ones: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        minusOne: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      })
      .map(({ full, drop, ones, minusOne }) => {
        const small = derive(full, drop, ones);
        const lead = full.length - small.length;
        // -1 is allowed on the axes that exist in the input, and means "keep its size".
        const arg = full.map((d, i) => (i >= lead && minusOne[i] && small[i - lead] === d ? -1 : d));
        return { small, arg };
      });
    fc.assert(
      fc.property(arb, seedArb, ({ small, arg }, seed) =>
        check(`expand ${JSON.stringify(small)} -> ${JSON.stringify(arg)}`, (x) => expand(x, arg), seed, [small]),
      ),
      RUNS,
    );
  });
});

describe('gradcheck: matmul', () => {
  it('batched with broadcast batch axes', () => {
    fc.assert(
      fc.property(broadcastShapesArb(2, 2), dim(), dim(), dim(), seedArb, ([ba, bb], m, k, n, seed) =>
        check(`matmul ${JSON.stringify([ba, bb, m, k, n])}`, matmul, seed, [
          [...ba!, m, k],
          [...bb!, k, n],
        ]),
      ),
      { numRuns: 12 },
    );
  });

  it('lazily transposed operands on either side (a.T @ b, a @ b.T, a.T @ b.T)', () => {
    fc.assert(
      fc.property(broadcastShapesArb(2, 2), dim(), dim(), dim(), seedArb, ([ba, bb], m, k, n, seed) => {
        check('a.T @ b', (a, b) => matmul(a.T, b), seed, [
          [...ba!, k, m],
          [...bb!, k, n],
        ]);
        check('a @ b.T', (a, b) => matmul(a, b.T), seed, [
          [...ba!, m, k],
          [...bb!, n, k],
        ]);
        check('a.T @ b.T', (a, b) => a.T.matmul(b.T), seed, [
          [...ba!, k, m],
          [...bb!, n, k],
        ]);
      }),
      RUNS,
    );
  });

  it('1-D operands (vector-matrix, matrix-vector, dot, batched)', () => {
    fc.assert(
      fc.property(shapeArb(0, 2), dim(), dim(), seedArb, (batch, k, n, seed) => {
        check('v @ M', matmul, seed, [[k], [...batch, k, n]]);
        check('M @ v', matmul, seed, [[...batch, n, k], [k]]);
        check('v @ v', matmul, seed, [[k], [k]]);
        check('v @ M.T', (v, w) => matmul(v, w.T), seed, [[k], [n, k]]);
      }),
      RUNS,
    );
  });

  it('the same tensor on both sides (x.T @ x) and a product of products', () => {
    fc.assert(
      fc.property(dim(), dim(), seedArb, (m, k, seed) => {
        check('x.T @ x', (x) => matmul(x.T, x), seed, [[m, k]]);
        check('(a @ b) @ a.T', (a, b) => matmul(matmul(a, b), a.T), seed, [
          [m, k],
          [k, k],
        ]);
      }),
      { numRuns: 5 },
    );
  });
});

describe('gradcheck: nn functions', () => {
  it('softmax and logSoftmax over any axis', () => {
    const arb = shapeArb(1, 3, 4).chain((shape) =>
      fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: -shape.length, max: shape.length - 1 }) }),
    );
    fc.assert(
      fc.property(arb, seedArb, ({ shape, axis }, seed) => {
        check(`softmax ${JSON.stringify(shape)} axis ${axis}`, (x) => softmax(x, axis), seed, [shape]);
        check(`logSoftmax ${JSON.stringify(shape)} axis ${axis}`, (x) => logSoftmax(x, axis), seed, [shape]);
      }),
      RUNS,
    );
  });

  it('crossEntropy with an ignore index, mean / sum / none, leading axes flattened', () => {
    const arb = fc.record({
      lead: shapeArb(1, 2),
      classes: fc.integer({ min: 2, max: 5 }),
      reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
      ignoreIndex: fc.constantFrom(-100, 1),
    });
    fc.assert(
      fc.property(arb, seedArb, ({ lead, classes, reduction, ignoreIndex }, seed) => {
        const rand = prng(seed ^ 0x1234);
        const ids = Array.from({ length: sizeOfShape(lead) }, () =>
          rand() < 0.3 ? ignoreIndex : Math.floor(rand() * classes),
        );
        const targets = tensor(ids, { shape: lead, dtype: 'int32' });
        try {
          check(
            `crossEntropy ${JSON.stringify({ lead, classes, reduction, ids })}`,
            (x) => crossEntropy(x, targets, { reduction, ignoreIndex }),
            seed,
            [[...lead, classes]],
          );
        } finally {
          targets.dispose();
        }
      }),
      { numRuns: 12 },
    );
  });

  it('rmsNorm: gradients of x and weight', () => {
    fc.assert(
      fc.property(shapeArb(0, 2), fc.integer({ min: 1, max: 5 }), seedArb, (lead, cols, seed) =>
        check(`rmsNorm ${JSON.stringify([...lead, cols])}`, (x, w) => rmsNorm(x, w, 1e-5), seed, [
          [...lead, cols],
          [cols],
        ]),
      ),
      RUNS,
    );
  });

  it('layerNorm: gradients of x, weight and bias', () => {
    fc.assert(
      fc.property(shapeArb(0, 2), fc.integer({ min: 1, max: 5 }), seedArb, (lead, cols, seed) =>
        check(`layerNorm ${JSON.stringify([...lead, cols])}`, (x, w, b) => layerNorm(x, w, b, 1e-5), seed, [
          [...lead, cols],
          [cols],
          [cols],
        ]),
      ),
      RUNS,
    );
  });

  it('gelu (erf form), over [-6, 6] and at points in both tails', () => {
    const wide: Domain = (u) => u() * 12 - 6;
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) => check('gelu', gelu, seed, [{ shape, domain: wide }])),
      RUNS,
    );
    const points = Float64Array.from([-9, -4.5, -1e-3, 0, 1e-3, 3.7, 8]);
    gradcheck(gelu, [{ shape: [points.length], values: points }], { label: 'gelu tails' });
  });

  it('rope (Hugging Face rotate_half)', () => {
    fc.assert(
      fc.property(dim(2), dim(3), dim(2), fc.integer({ min: 1, max: 3 }), seedArb, (batch, seq, heads, half, seed) => {
        const rand = prng(seed ^ 0x777);
        const angles = Array.from({ length: seq * half }, () => rand() * 6);
        const tables = {
          cos: tensor(angles.map(Math.cos), { shape: [seq, half], dtype: 'float64' }),
          sin: tensor(angles.map(Math.sin), { shape: [seq, half], dtype: 'float64' }),
        };
        try {
          check('rope', (x) => rope(x, tables), seed, [[batch, seq, heads, half * 2]]);
        } finally {
          tables.cos.dispose();
          tables.sin.dispose();
        }
      }),
      RUNS,
    );
  });

  it('siluMul: gradients of gate and up', () => {
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) => check('siluMul', siluMul, seed, [shape, shape])),
      RUNS,
    );
  });

  it('linear with and without bias, inputs of rank 1 to 3', () => {
    fc.assert(
      fc.property(shapeArb(0, 2), dim(), dim(), seedArb, (lead, inF, outF, seed) => {
        check('linear+bias', (x, w, b) => linear(x, w, b), seed, [[...lead, inF], [outF, inF], [outF]]);
        check('linear', (x, w) => linear(x, w), seed, [
          [...lead, inF],
          [outF, inF],
        ]);
      }),
      RUNS,
    );
  });

  it('embedding: the table gradient accumulates repeated ids', () => {
    fc.assert(
      fc.property(shapeArb(1, 2, 4), fc.integer({ min: 1, max: 4 }), dim(), seedArb, (idShape, vocab, width, seed) => {
        const rand = prng(seed ^ 0x999);
        // Few rows, many ids: repeats are the rule.
        const ids = tensor(
          Array.from({ length: sizeOfShape(idShape) }, () => Math.floor(rand() * vocab)),
          { shape: idShape, dtype: 'int32' },
        );
        try {
          check('embedding', (table) => embedding(ids, table), seed, [[vocab, width]]);
        } finally {
          ids.dispose();
        }
      }),
      RUNS,
    );
  });

  it('scaledDotProductAttention, causal and not, Sq <= Sk, batched heads', () => {
    fc.assert(
      fc.property(
        shapeArb(0, 2, 2),
        dim(3),
        fc.integer({ min: 0, max: 2 }),
        dim(3),
        fc.boolean(),
        seedArb,
        (lead, sq, extra, d, causal, seed) => {
          const sk = sq + extra;
          check(
            `sdpa ${JSON.stringify({ lead, sq, sk, d, causal })}`,
            (q, k, v) => scaledDotProductAttention(q, k, v, { causal }),
            seed,
            [
              [...lead, sq, d],
              [...lead, sk, d],
              [...lead, sk, d],
            ],
          );
        },
      ),
      { numRuns: 12 },
    );
  });

  it('causal scaledDotProductAttention across blocks of 64 query rows, keys before and after the queries', () => {
    // The CPU runs causal attention fused, a head at a time up to 64 x 64 scores and in blocks
    // of 64 query rows beyond: cover block edges and queries that see no key (Sq > Sk).
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 140 }),
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        seedArb,
        (sq, extra, d, seed) => {
          const sk = sq + extra;
          check(
            `causal sdpa ${JSON.stringify({ sq, sk, d })}`,
            (q, k, v) => scaledDotProductAttention(q, k, v, { causal: true, scale: 0.7 }),
            seed,
            [
              [1, sq, d],
              [1, sk, d],
              [1, sk, d],
            ],
          );
        },
      ),
      { numRuns: 3 },
    );
  });

  it('causalSelfAttention on [batch, seq, heads, dim], grouped-query kv heads, odd sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        dim(3),
        seedArb,
        (batch, sq, extra, kvHeads, group, d, seed) => {
          const sk = sq + extra;
          const heads = kvHeads * group;
          check(
            `causalSelfAttention ${JSON.stringify({ batch, sq, sk, heads, kvHeads, d })}`,
            (q, k, v) => causalSelfAttention(q, k, v, { scale: 0.8 }),
            seed,
            [
              [batch, sq, heads, d],
              [batch, sk, kvHeads, d],
              [batch, sk, kvHeads, d],
            ],
          );
        },
      ),
      { numRuns: 10 },
    );
  });

  it('causalSelfAttention across blocks of 64 query rows with grouped kv heads', () => {
    check('causalSelfAttention blocks', (q, k, v) => causalSelfAttention(q, k, v), 7, [
      [1, 131, 2, 1],
      [1, 133, 1, 1],
      [1, 133, 1, 1],
    ]);
  });
});

describe('the gradient checker itself', () => {
  /** y = 2x with a deliberately configurable backward rule. */
  function doubled(x: Tensor, rule: (g: Tensor) => Tensor): Tensor {
    const out = mul(x.detach(), 2);
    return recordOp('doubled', out, [x], [], (g) => [rule(g)]);
  }

  it('accepts a correct rule', () => {
    check('doubled', (x) => doubled(x, (g) => mul(g, 2)), 3, [[2, 3]]);
  });

  it('rejects a wrong gradient, naming the input and element', () => {
    expect(() => check('doubled', (x) => doubled(x, (g) => mul(g, 3)), 3, [[2, 3]])).toThrow(
      /gradient of input 0 \(shape \[2, 3\]\) element 0: analytic/,
    );
  });

  it('rejects a rule that leaks a tensor', () => {
    let leaked: Tensor | undefined;
    expect(() =>
      check(
        'leaky',
        (x) =>
          doubled(x, (g) => {
            leaked = keep(mul(g, 1));
            return mul(g, 2);
          }),
        3,
        [[2]],
      ),
    ).toThrow(/leak/);
    leaked?.dispose();
  });
});

describe('float32 gradients agree with float64 ones', () => {
  it('a network using most ops: same gradients in float32 as in float64 (to float32 accuracy)', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const rand = prng(seed);
        const shapes = { x: [2, 3, 4], w: [5, 4], b: [5], g: [5], q: [2, 3, 4] };
        const data = Object.fromEntries(
          Object.entries(shapes).map(([k, s]) => [k, Array.from({ length: sizeOfShape(s) }, () => rand() * 2 - 1)]),
        ) as Record<keyof typeof shapes, number[]>;
        const targets = tensor([0, 4, -100, 2, 1, 3], { shape: [2, 3], dtype: 'int32' });
        const run = (dtype: 'float32' | 'float64') => {
          const leaves = Object.fromEntries(
            Object.entries(shapes).map(([k, s]) => [
              k,
              tensor(data[k as keyof typeof shapes], { shape: s, dtype, requiresGrad: true }),
            ]),
          ) as Record<keyof typeof shapes, Tensor>;
          const loss = tidy(() => {
            const h = rmsNorm(linear(leaves.x, leaves.w, leaves.b), leaves.g);
            const att = scaledDotProductAttention(leaves.q, leaves.q.mul(0.5), leaves.x, { causal: true });
            const mixed = siluMul(h, h.tanh()).add(att.sum(-1, true).sigmoid());
            return crossEntropy(mixed, targets).add(mixed.softmax(1).max().mul(0.1));
          });
          loss.backward();
          const grads = Object.fromEntries(Object.entries(leaves).map(([k, t]) => [k, [...t.grad!.dataSync()]]));
          expect(Object.values(leaves).every((t) => t.grad!.dtype === dtype)).toBe(true);
          for (const t of [...Object.values(leaves), loss]) {
            t.zeroGrad();
            t.dispose();
          }
          return grads;
        };
        const g64 = run('float64');
        const g32 = run('float32');
        targets.dispose();
        for (const k of Object.keys(shapes)) {
          g64[k]!.forEach((v, i) => {
            const err = Math.abs(g32[k]![i]! - v);
            if (err > 1e-4 * Math.max(1, Math.abs(v)))
              throw new Error(`${k}[${i}]: float32 ${g32[k]![i]} vs float64 ${v}`);
          });
        }
      }),
      { numRuns: 5 },
    );
  });
});
