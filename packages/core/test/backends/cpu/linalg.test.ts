import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backend, empty, randomValues, storage, values } from './helpers.js';

/** Row-major (rows x inner) times (inner x cols), plain triple loop. */
function multiply(x: number[], y: number[], rows: number, inner: number, cols: number): number[] {
  const out = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let p = 0; p < inner; p++) sum += (x[i * inner + p] as number) * (y[p * cols + j] as number);
      out[i * cols + j] = sum;
    }
  }
  return out;
}

function transpose(x: number[], rows: number, cols: number): number[] {
  const out = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j] as number;
  return out;
}

function maxAbsDiff(x: number[], y: number[]): number {
  return x.reduce((worst, v, i) => Math.max(worst, Math.abs(v - (y[i] as number))), 0);
}

function identity(size: number): number[] {
  return Array.from({ length: size * size }, (_, i) => (i % (size + 1) === 0 ? 1 : 0));
}

/** Random matrix of a given rank (product of m x rank and rank x n factors). */
function matrixOfRank(m: number, n: number, rank: number, seed: number): number[] {
  if (rank === 0) return new Array(m * n).fill(0);
  return multiply(randomValues(m * rank, seed), randomValues(rank * n, seed + 1), m, rank, n);
}

function runSvd(dtype: 'float32' | 'float64', a: number[], m: number, n: number) {
  const k = Math.min(m, n);
  const u = empty(dtype, m * k);
  const s = empty(dtype, k);
  const vt = empty(dtype, k * n);
  backend.run('svd', { a: storage(dtype, a), u, s, vt }, { m, n });
  return { u: values(u), s: values(s), vt: values(vt), k };
}

const shapeArbitrary = fc.record({
  m: fc.integer({ min: 1, max: 24 }),
  n: fc.integer({ min: 1, max: 24 }),
  rankFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.integer(),
});

describe('svd', () => {
  it('reconstructs A = U diag(S) Vt with orthonormal U, V and descending S, for any shape and rank', () => {
    fc.assert(
      fc.property(shapeArbitrary, fc.constantFrom('float32', 'float64'), ({ m, n, rankFraction, seed }, dtype) => {
        const k = Math.min(m, n);
        const rank = Math.round(rankFraction * k);
        const a = matrixOfRank(m, n, rank, seed);
        const r = runSvd(dtype, a, m, n);
        for (const x of [...r.u, ...r.s, ...r.vt]) expect(Number.isFinite(x)).toBe(true);
        const scale = Math.max(1, ...a.map(Math.abs));
        const tolerance = dtype === 'float64' ? 1e-12 : 2e-6;
        const us = r.u.map((x, i) => x * (r.s[i % k] as number));
        expect(maxAbsDiff(multiply(us, r.vt, m, k, n), a)).toBeLessThan(tolerance * scale * k);
        expect(maxAbsDiff(multiply(transpose(r.u, m, k), r.u, k, m, k), identity(k))).toBeLessThan(tolerance * 4);
        expect(maxAbsDiff(multiply(r.vt, transpose(r.vt, k, n), k, n, k), identity(k))).toBeLessThan(tolerance * 4);
        for (let j = 1; j < k; j++) expect(r.s[j] as number).toBeLessThanOrEqual(r.s[j - 1] as number);
        for (let j = rank; j < k; j++) expect(r.s[j] as number).toBeLessThan(tolerance * scale * k);
      }),
      { numRuns: 80 },
    );
  });

  it('makes the largest-magnitude entry of every U column positive', () => {
    fc.assert(
      fc.property(shapeArbitrary, ({ m, n, seed }) => {
        const r = runSvd('float64', randomValues(m * n, seed), m, n);
        for (let j = 0; j < r.k; j++) {
          const column = Array.from({ length: m }, (_, i) => r.u[i * r.k + j] as number);
          const largest = column.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
          expect(largest).toBeGreaterThan(0);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('matches singular values known in closed form', () => {
    // diag(3, -5, 1) padded into 4 x 3: singular values 5, 3, 1.
    const a = [3, 0, 0, 0, -5, 0, 0, 0, 1, 0, 0, 0];
    const r = runSvd('float64', a, 4, 3);
    expect(r.s).toEqual([5, 3, 1]);
    // A rank-one outer product x yᵀ has one singular value |x| |y|.
    const rankOne = runSvd('float64', [1, 2, 2, 4, 3, 6], 3, 2);
    expect(rankOne.s[0]).toBeCloseTo(Math.sqrt(14) * Math.sqrt(5), 12);
    expect(rankOne.s[1]).toBeLessThan(1e-14);
  });

  it('gives an orthonormal U for the zero matrix, wide and tall', () => {
    for (const [m, n] of [
      [5, 3],
      [3, 5],
      [4, 4],
      [40, 6],
    ] as const) {
      const r = runSvd('float32', new Array(m * n).fill(0), m, n);
      expect(r.s.every((x) => x === 0)).toBe(true);
      expect(maxAbsDiff(multiply(transpose(r.u, m, r.k), r.u, r.k, m, r.k), identity(r.k))).toBeLessThan(1e-6);
      expect(maxAbsDiff(multiply(r.vt, transpose(r.vt, r.k, n), r.k, n, r.k), identity(r.k))).toBeLessThan(1e-6);
    }
  });

  it('refuses non-finite input and wrong output sizes', () => {
    expect(() =>
      backend.run(
        'svd',
        {
          a: storage('float32', [1, Number.NaN]),
          u: empty('float32', 1),
          s: empty('float32', 1),
          vt: empty('float32', 2),
        },
        { m: 1, n: 2 },
      ),
    ).toThrow(/a\[1\] is NaN; SVD needs finite input/);
    expect(() =>
      backend.run(
        'svd',
        {
          a: storage('float32', [1, 2, 3, 4, 5, 6]),
          u: empty('float32', 6),
          s: empty('float32', 2),
          vt: empty('float32', 6),
        },
        { m: 2, n: 3 },
      ),
    ).toThrow(/u has 6 elements; expected m \* min\(m, n\) = 4/);
  });
});

describe('qr', () => {
  it('Q R = A with orthonormal Q and upper-triangular R with a non-negative diagonal', () => {
    fc.assert(
      fc.property(
        shapeArbitrary,
        fc.constantFrom('float32', 'float64'),
        ({ m: a, n: b, rankFraction, seed }, dtype) => {
          const [m, n] = a >= b ? [a, b] : [b, a];
          const input = matrixOfRank(m, n, Math.round(rankFraction * n), seed);
          const q = empty(dtype, m * n);
          const r = empty(dtype, n * n);
          backend.run('qr', { a: storage(dtype, input), q, r }, { m, n });
          const qv = values(q);
          const rv = values(r);
          const tolerance = dtype === 'float64' ? 1e-12 : 2e-6;
          const scale = Math.max(1, ...input.map(Math.abs));
          expect(maxAbsDiff(multiply(qv, rv, m, n, n), input)).toBeLessThan(tolerance * scale * n);
          expect(maxAbsDiff(multiply(transpose(qv, m, n), qv, n, m, n), identity(n))).toBeLessThan(tolerance * 4);
          for (let i = 0; i < n; i++) {
            expect(rv[i * n + i] as number).toBeGreaterThanOrEqual(0);
            for (let j = 0; j < i; j++) expect(rv[i * n + j]).toBe(0);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('refuses wide matrices', () => {
    expect(() =>
      backend.run(
        'qr',
        { a: storage('float32', [1, 2]), q: empty('float32', 2), r: empty('float32', 4) },
        { m: 1, n: 2 },
      ),
    ).toThrow(/needs m >= n.*m = 1, n = 2/);
  });
});
