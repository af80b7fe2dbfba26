import { manualSeed, tidy } from '@galore-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GaLoreProjector,
  PROJECTION_TYPES,
  type ProjectionType,
  projectedShape,
  projectionSides,
} from '../src/index.js';
import {
  frobenius,
  host,
  hostMatmul,
  hostSub,
  hostTranspose,
  identity,
  mapStore,
  matrixWithSpectrum,
  maxAbsDiff,
  toTensor,
} from './helpers.js';

const config = (projType: ProjectionType, rank: number, scale = 1) => ({
  rank,
  updateProjGap: 200,
  scale,
  projType,
  svd: 'exact' as const,
});

/** Dimensions (m, n) and a strictly decaying spectrum of min(m, n) values. */
const matrixCase = fc
  .record({
    m: fc.integer({ min: 2, max: 12 }),
    n: fc.integer({ min: 2, max: 12 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .chain(({ m, n, seed }) =>
    fc.record({
      m: fc.constant(m),
      n: fc.constant(n),
      seed: fc.constant(seed),
      rank: fc.integer({ min: 1, max: Math.min(m, n) + 2 }),
      // Distinct singular values (a gap after every one), so the top-r subspace is unique.
      spectrum: fc.constant(Array.from({ length: Math.min(m, n) }, (_, i) => 10 * 0.6 ** i)),
    }),
  );

function withProjector<T>(
  type: ProjectionType,
  rank: number,
  g: ReturnType<typeof toTensor>,
  fn: (p: GaLoreProjector) => T,
  scale = 1,
): T {
  const store = mapStore();
  try {
    const p = new GaLoreProjector(config(type, rank, scale), g.shape, store);
    expect(p.refresh(g, 0, 0).kind).toBe('refreshed');
    return fn(p);
  } finally {
    store.dispose();
  }
}

describe('projection sides and shapes', () => {
  it.each([
    ['std', 8, 4, false, true, [8, 2]],
    ['std', 4, 8, true, false, [2, 8]],
    ['std', 5, 5, false, true, [5, 2]],
    ['reverse_std', 8, 4, true, false, [2, 4]],
    ['reverse_std', 4, 8, false, true, [4, 2]],
    ['left', 4, 8, true, false, [2, 8]],
    ['left', 8, 4, true, false, [2, 4]],
    ['right', 8, 4, false, true, [8, 2]],
    ['full', 8, 4, true, true, [2, 2]],
  ] as const)('%s on %i x %i: left %s, right %s, R %j', (type, m, n, left, right, shape) => {
    expect(projectionSides(type, m, n)).toEqual({ left, right });
    expect(projectedShape(type, 2, [m, n])).toEqual(shape);
  });

  it('caps the rank at min(m, n)', () => {
    expect(projectedShape('std', 50, [8, 4])).toEqual([8, 4]);
    expect(projectedShape('full', 50, [3, 6])).toEqual([3, 3]);
  });

  it('refuses matrices that are not 2-D', () => {
    expect(() => projectedShape('std', 2, [4])).toThrow(/2-D/);
  });
});

/** One random matrix of known spectrum (see matrixCase). */
type MatrixCase = { m: number; n: number; seed: number; rank: number; spectrum: number[] };

/** Holds `check` for 40 random matrices and projection types, on a projector refreshed from the matrix. */
function forAllProjectors(
  types: readonly ProjectionType[],
  check: (p: GaLoreProjector, g: ReturnType<typeof toTensor>, c: MatrixCase, type: ProjectionType) => void,
  rankOf = (c: MatrixCase) => c.rank,
): void {
  const property = fc.property(matrixCase, fc.constantFrom(...types), (c, type) => {
    manualSeed(c.seed);
    tidy(() => {
      const g = toTensor(matrixWithSpectrum(c.m, c.n, c.spectrum));
      withProjector(type, rankOf(c), g, (p) => check(p, g, c, type));
    });
  });
  fc.assert(property, { numRuns: 40 });
}

describe('GaLoreProjector (exact SVD), properties', () => {
  it('bases have orthonormal columns (P) / rows (Q), with the shapes the side rules give', () => {
    forAllProjectors(PROJECTION_TYPES, (p, g, { m, n, rank }, type) => {
      const r = Math.min(rank, m, n);
      const sides = projectionSides(type, m, n);
      expect(p.projectedShape).toEqual([sides.left ? r : m, sides.right ? r : n]);
      if (sides.left) {
        const P = host(p.left!);
        expect([P.rows, P.cols]).toEqual([m, r]);
        expect(maxAbsDiff(hostMatmul(hostTranspose(P), P).data, identity(r).data)).toBeLessThan(1e-9);
      }
      if (sides.right) {
        const Q = host(p.right!);
        expect([Q.rows, Q.cols]).toEqual([r, n]);
        expect(maxAbsDiff(hostMatmul(Q, hostTranspose(Q)).data, identity(r).data)).toBeLessThan(1e-9);
      }
      const R = p.project(g);
      expect(R.shape).toEqual(p.projectedShape);
    });
  });

  it('projectBack(project(G)) is the best rank-r approximation (Eckart-Young) for one-sided types', () => {
    const types: ProjectionType[] = ['std', 'reverse_std', 'left', 'right', 'full'];
    forAllProjectors(types, (p, g, { m, n, rank, spectrum }) => {
      const approx = host(p.projectBack(p.project(g)));
      const residual = frobenius(hostSub(host(g), approx));
      const r = Math.min(rank, m, n);
      // The dropped singular values, known by construction.
      const dropped = Math.sqrt(spectrum.slice(r).reduce((s, x) => s + x * x, 0));
      expect(residual).toBeCloseTo(dropped, 8);
    });
  });

  it('projection is idempotent: projecting the projected-back gradient changes nothing', () => {
    forAllProjectors(PROJECTION_TYPES, (p, g) => {
      const once = p.projectBack(p.project(g));
      const twice = p.projectBack(p.project(once));
      expect(maxAbsDiff(host(twice).data, host(once).data)).toBeLessThan(1e-9);
    });
  });

  it('with rank = min(m, n) and alpha = 1 the projection loses nothing', () => {
    forAllProjectors(
      PROJECTION_TYPES,
      (p, g) => expect(maxAbsDiff(host(p.projectBack(p.project(g))).data, host(g).data)).toBeLessThan(1e-9),
      ({ m, n }) => Math.min(m, n),
    );
  });

  it('projectBack multiplies by alpha', () => {
    manualSeed(3);
    tidy(() => {
      const g = toTensor(matrixWithSpectrum(6, 4, [5, 3, 2, 1]));
      const unit = withProjector('std', 2, g, (p) => host(p.projectBack(p.project(g))));
      const scaled = withProjector('std', 2, g, (p) => host(p.projectBack(p.project(g))), 0.25);
      expect(
        maxAbsDiff(
          scaled.data,
          unit.data.map((v) => v * 0.25),
        ),
      ).toBeLessThan(1e-12);
    });
  });
});

describe('GaLoreProjector refresh rules', () => {
  it('is due at steps 0, T, 2T, ... and whenever it has no basis', () => {
    const store = mapStore();
    const p = new GaLoreProjector({ ...config('std', 2), updateProjGap: 3 }, [6, 4], store);
    expect(p.isDue(1)).toBe(true); // no basis yet
    manualSeed(1);
    tidy(() => p.refresh(toTensor(matrixWithSpectrum(6, 4, [4, 3, 2, 1])), 0, 0));
    expect([0, 1, 2, 3, 4, 5, 6].map((s) => p.isDue(s))).toEqual([true, false, false, true, false, false, true]);
    store.dispose();
  });

  it('keeps the previous basis when the SVD gives non-finite values, and reports no basis when there was none', () => {
    const store = mapStore();
    const p = new GaLoreProjector(config('std', 2), [4, 3], store);
    const bad = toTensor({
      rows: 4,
      cols: 3,
      data: Float64Array.from({ length: 12 }, (_, i) => (i === 5 ? Number.NaN : i)),
    });
    expect(p.refresh(bad, 0, 0).kind).toBe('no-basis');
    manualSeed(2);
    const good = toTensor(matrixWithSpectrum(4, 3, [3, 2, 1]));
    const first = p.refresh(good, 0, 0);
    expect(first.kind).toBe('refreshed');
    const before = host(p.right!).data;
    expect(p.refresh(bad, 0, 200).kind).toBe('kept-previous');
    expect(host(p.right!).data).toEqual(before);
    for (const t of [bad, good]) t.dispose();
    store.dispose();
  });
});
