/** allFiniteNow: the per-step check that keeps NaN and Inf gradients out of the weights. */
import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/dtype.js';
import { tensor } from '../../src/index.js';
import { allFiniteNow } from '../../src/optim/finite.js';

describe('allFiniteNow', () => {
  const dtypes: DType[] = ['float32', 'float64', 'bfloat16', 'float16'];

  it('finds one NaN or +-Inf at any position, for every length around the unrolled loop', () => {
    for (const dtype of dtypes) {
      for (let n = 1; n <= 9; n++) {
        const clean = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i + 0.5));
        const ok = tensor(clean, { dtype });
        expect(allFiniteNow([ok]), `${dtype}[${n}] finite`).toBe(true);
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          for (let at = 0; at < n; at++) {
            const values = [...clean];
            values[at] = bad;
            const t = tensor(values, { dtype });
            expect(allFiniteNow([ok, t]), `${dtype}[${n}] with ${bad} at ${at}`).toBe(false);
            t.dispose();
          }
        }
        ok.dispose();
      }
    }
  });

  it('counts zeros, negative zeros and the largest finite values as finite', () => {
    const t = tensor([0, -0, 3.4e38, -3.4e38], { dtype: 'float32' });
    const u = tensor([Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE], { dtype: 'float64' });
    const ids = tensor([1, 2, 3], { dtype: 'int32' });
    expect(allFiniteNow([t, u, ids])).toBe(true);
    expect(allFiniteNow([])).toBe(true);
    for (const x of [t, u, ids]) x.dispose();
  });
});
