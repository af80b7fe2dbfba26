import { expect } from 'vitest';

/** Elementwise |got - want| <= abs + rel |want|, naming the first element that is not. */
export function expectClose(
  got: readonly number[],
  want: readonly number[],
  what: string,
  tolerance: { abs: number; rel: number },
): void {
  expect(got.length, what).toBe(want.length);
  for (const [i, w] of want.entries()) {
    expect(Math.abs(got[i]! - w), `${what}[${i}]: ${got[i]} vs ${w}`).toBeLessThanOrEqual(
      tolerance.abs + tolerance.rel * Math.abs(w),
    );
  }
}
