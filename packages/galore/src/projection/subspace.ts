/**
 * The top-r singular subspaces of a gradient, two ways:
 * - exact: the backend's thin SVD of the float32 gradient (as official GaLore does each refresh);
 * - randomized: a range finder with oversampling and power iterations (Halko, Martinsson and
 *   Tropp 2011, as GaLore 2 uses): a few matmuls, QRs of tall m x l matrices and one exact SVD of
 *   a small l x n matrix, l = r + oversampling. Far cheaper than an exact SVD when r << min(m, n).
 * Both return the bases in float32; which sides are returned is the caller's choice.
 */
import { matmulInto, narrow, qr, runKernel, seedWords, svd, type Tensor, tidy, zeros } from '@galore-ts/core';
import type { ProjectionSides } from './sides.js';

export interface SubspaceBases {
  /** U[:, :r], m x r, orthonormal columns. */
  left?: Tensor;
  /** Vh[:r], r x n, orthonormal rows. */
  right?: Tensor;
}

export interface RandomizedSvdOptions {
  /** Extra sketch columns beyond r (default 8). */
  oversampling: number;
  /** Power iterations, each sharpening a slowly decaying spectrum (default 2). */
  powerIterations: number;
  /** Seed of the Gaussian sketch (its own Philox stream: training randomness is left untouched). */
  seed: number | bigint;
}

export const RANDOMIZED_SVD_DEFAULTS: Readonly<Omit<RandomizedSvdOptions, 'seed'>> = Object.freeze({
  oversampling: 8,
  powerIterations: 2,
});

/** Top-r bases from the exact thin SVD of `grad` (any floating dtype; computed in float32 or better). */
export function exactSubspace(grad: Tensor, rank: number, sides: ProjectionSides): SubspaceBases {
  return tidy(() => {
    const { U, Vt } = svd(grad);
    const r = Math.min(rank, U.shape[1]!);
    return {
      ...(sides.left ? { left: narrow(U, 1, 0, r) } : {}),
      ...(sides.right ? { right: narrow(Vt, 0, 0, r) } : {}),
    };
  });
}

/** Top-r bases from a randomized range finder; `grad` is m x n. */
export function randomizedSubspace(
  grad: Tensor,
  rank: number,
  sides: ProjectionSides,
  options: RandomizedSvdOptions,
): SubspaceBases {
  const [m, n] = grad.shape as [number, number];
  const r = Math.min(rank, m, n);
  const l = Math.min(r + options.oversampling, m, n);
  const backend = grad.backend;
  const f32 = (shape: number[]) => zeros(shape, { dtype: 'float32', backend });
  return tidy(() => {
    const omega = f32([n, l]);
    runKernel(
      'random',
      { out: omega },
      { distribution: 'normal', seed: seedWords(options.seed), offset: 0, a: 0, b: 1 },
    );
    let y = f32([m, l]);
    matmulInto(y, grad, omega);
    for (let i = 0; i < options.powerIterations; i++) {
      // Re-orthonormalising between the two products keeps small singular directions from
      // drowning in round-off (the stable form of the power scheme).
      const qy = qr(y).Q;
      const z = f32([n, l]);
      matmulInto(z, grad.T, qy);
      const qz = qr(z).Q;
      y = f32([m, l]);
      matmulInto(y, grad, qz);
    }
    const q = qr(y).Q;
    const b = f32([l, n]);
    matmulInto(b, q.T, grad);
    const small = svd(b);
    const bases: SubspaceBases = {};
    if (sides.left) {
      const left = f32([m, r]);
      matmulInto(left, q, narrow(small.U, 1, 0, r));
      bases.left = left;
    }
    if (sides.right) bases.right = narrow(small.Vt, 0, 0, r);
    return bases;
  });
}
