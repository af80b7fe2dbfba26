import { manualSeed, tidy } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { exactSubspace, randomizedSubspace } from '../src/index.js';
import { frobenius, host, hostMatmul, hostSub, hostTranspose, matrixWithSpectrum, toTensor } from './helpers.js';

/** ||(I - A A^T) B||_F for orthonormal columns A and B: bounds the sine of the largest principal angle. */
function subspaceDistance(a: ReturnType<typeof host>, b: ReturnType<typeof host>): number {
  return frobenius(hostSub(b, hostMatmul(a, hostMatmul(hostTranspose(a), b))));
}

describe('randomized range finder', () => {
  it.each([
    [80, 40, 6],
    [40, 80, 6],
    [60, 60, 10],
  ])('finds the top-r subspaces of a %i x %i matrix with a decaying spectrum (r = %i)', (m, n, r) => {
    manualSeed(7);
    tidy(() => {
      const spectrum = Array.from({ length: Math.min(m, n) }, (_, i) => 0.8 ** i);
      const g = toTensor(matrixWithSpectrum(m, n, spectrum), 'float32');
      const exact = exactSubspace(g, r, { left: true, right: true });
      const sketch = randomizedSubspace(
        g,
        r,
        { left: true, right: true },
        { oversampling: 8, powerIterations: 2, seed: 11 },
      );
      expect(sketch.left!.shape).toEqual([m, r]);
      expect(sketch.right!.shape).toEqual([r, n]);
      expect(subspaceDistance(host(exact.left!), host(sketch.left!))).toBeLessThan(1e-2);
      expect(subspaceDistance(hostTranspose(host(exact.right!)), hostTranspose(host(sketch.right!)))).toBeLessThan(
        1e-2,
      );
    });
  });

  it('power iterations sharpen a slowly decaying spectrum', () => {
    manualSeed(8);
    tidy(() => {
      const spectrum = Array.from({ length: 50 }, (_, i) => 0.97 ** i);
      const g = toTensor(matrixWithSpectrum(100, 50, spectrum), 'float32');
      const exact = host(exactSubspace(g, 5, { left: true, right: false }).left!);
      const distance = (powerIterations: number) =>
        subspaceDistance(
          exact,
          host(
            randomizedSubspace(g, 5, { left: true, right: false }, { oversampling: 5, powerIterations, seed: 3 }).left!,
          ),
        );
      expect(distance(4)).toBeLessThan(distance(0));
    });
  });

  it('draws the same sketch for the same seed and a different one otherwise', () => {
    manualSeed(9);
    tidy(() => {
      const g = toTensor(
        matrixWithSpectrum(
          30,
          20,
          Array.from({ length: 20 }, () => 1),
        ),
        'float32',
      );
      const run = (seed: number) =>
        host(
          randomizedSubspace(g, 4, { left: true, right: false }, { oversampling: 2, powerIterations: 0, seed }).left!,
        ).data;
      expect(run(1)).toEqual(run(1));
      expect(run(1)).not.toEqual(run(2));
    });
  });
});
