/** Elementwise comparison of a backend's output with the CPU reference's. */
import type { Tolerance } from './tolerances.js';

/**
 * Throws unless every element is within tolerance. NaN must meet NaN and infinities must match
 * exactly. The message names the output, the worst element and the tolerance.
 */
export function expectWithin(
  label: string,
  got: readonly number[],
  want: readonly number[],
  tolerance: Tolerance,
): void {
  if (got.length !== want.length)
    throw new Error(`${label}: got ${got.length} elements, the CPU reference has ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    const bothFinite = Number.isFinite(g) && Number.isFinite(w);
    const excess = bothFinite
      ? Math.abs(g - w) - (tolerance.abs + tolerance.rel * Math.abs(w))
      : Number.POSITIVE_INFINITY;
    if (excess <= 0) continue;
    bad++;
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (bad > 0) {
    const g = got[worst] as number;
    const w = want[worst] as number;
    throw new Error(
      `${label}: element ${worst} is ${g}, the CPU reference gives ${w} (difference ${Math.abs(g - w)}, ` +
        `tolerance abs ${tolerance.abs} + rel ${tolerance.rel} * |reference|); ${bad} of ${want.length} elements are out of tolerance`,
    );
  }
}
