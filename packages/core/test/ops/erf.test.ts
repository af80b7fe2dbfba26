import { describe, expect, it } from 'vitest';
import { erf, erfc, normalCdf, normalPdf } from '../../src/kernels/erf.js';
import { erfcExact, erfExact } from '../helpers/erf-reference.js';

function relativeError(got: number, want: number): number {
  return Math.abs(got - want) / Math.abs(want);
}

// Published values (Abramowitz & Stegun table 7.1, to float64's digits).
const KNOWN_ERF: [number, number][] = [
  [0.1, 0.1124629160182849],
  [0.5, 0.5204998778130465],
  [1, 0.8427007929497149],
  [2, 0.9953222650189527],
  [3, 0.9999779095030014],
  [-3, -0.9999779095030014],
];
const KNOWN_ERFC: [number, number][] = [
  [1, 0.15729920705028513],
  [2, 0.004677734981047266],
  [3, 2.209049699858544e-5],
  [5, 1.5374597944280349e-12],
  [10, 2.088487583762545e-45],
];

/** 4001 points on [-8, 8] plus the interval edges of the rational approximations. */
const GRID = [
  ...Array.from({ length: 4001 }, (_, i) => -8 + i * 0.004),
  ...[0.46875, 4].flatMap((e) => [e, -e, e + 1e-12, -e - 1e-12]),
];

describe('erf (Cody rational approximations)', () => {
  it('matches published values to float64 accuracy', () => {
    for (const [x, want] of KNOWN_ERF) expect(relativeError(erf(x), want)).toBeLessThan(3e-16);
    for (const [x, want] of KNOWN_ERFC) expect(relativeError(erfc(x), want)).toBeLessThan(2e-15);
  });

  it('the independent reference agrees with the same published values', () => {
    for (const [x, want] of KNOWN_ERF) expect(relativeError(erfExact(x), want)).toBeLessThan(1e-15);
    // Below 3 the reference's erfc is 1 - erf, accurate in absolute terms only.
    for (const [x, want] of KNOWN_ERFC) {
      if (x >= 3) expect(relativeError(erfcExact(x), want)).toBeLessThan(2e-15);
      else expect(Math.abs(erfcExact(x) - want)).toBeLessThan(5e-16);
    }
  });

  it('matches an independent series / continued fraction at 4000 points in [-8, 8]', () => {
    let worstErf = 0;
    let worstErfcAbsolute = 0;
    let worstTailRelative = 0;
    for (const x of GRID) {
      if (x !== 0) worstErf = Math.max(worstErf, relativeError(erf(x), erfExact(x)));
      if (x < 3) worstErfcAbsolute = Math.max(worstErfcAbsolute, Math.abs(erfc(x) - erfcExact(x)));
      else worstTailRelative = Math.max(worstTailRelative, relativeError(erfc(x), erfcExact(x)));
    }
    // The reference sums ~70 series terms near 3, so it carries a few ulp of its own.
    expect(worstErf).toBeLessThan(2e-15);
    expect(worstErfcAbsolute).toBeLessThan(2e-15);
    // erfc from 2e-5 at x = 3 down to 1e-29 at x = 8, relative to itself.
    expect(worstTailRelative).toBeLessThan(5e-15);
  });

  it('is odd, exact at 0 and saturates', () => {
    expect(erf(0)).toBe(0);
    expect(erf(1e-300)).toBeCloseTo(1.1283791670955126e-300, 310);
    expect(erf(7)).toBe(1);
    expect(erf(-30)).toBe(-1);
    expect(erfc(30)).toBe(0);
    expect(erfc(-30)).toBe(2);
    expect(erf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(erf(Number.NEGATIVE_INFINITY)).toBe(-1);
    expect(erfc(Number.POSITIVE_INFINITY)).toBe(0);
    expect(Number.isNaN(erf(Number.NaN))).toBe(true);
    expect(Number.isNaN(erfc(Number.NaN))).toBe(true);
    for (const x of [0.3, 1.7, 4.5]) expect(erf(-x)).toBe(-erf(x));
  });

  it('normalCdf keeps its relative accuracy in the left tail; normalPdf is its derivative', () => {
    expect(relativeError(normalCdf(-10), 0.5 * erfcExact(10 / Math.SQRT2))).toBeLessThan(1e-13);
    expect(normalCdf(0)).toBe(0.5);
    for (const x of [-3, -0.7, 0, 0.4, 2.2]) {
      const h = 1e-5;
      const slope = (normalCdf(x + h) - normalCdf(x - h)) / (2 * h);
      expect(Math.abs(slope - normalPdf(x))).toBeLessThan(1e-10);
    }
  });
});
