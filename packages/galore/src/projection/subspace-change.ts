/**
 * What happens to the optimizer's moments when the bases are refreshed. The moments live in the
 * coordinates of the old subspace; three policies:
 *
 *  keep     leave them as they are (the official GaLore code; the default). Cheap, and the
 *           moments of a slowly turning subspace stay roughly right, but after a large turn they
 *           describe directions that no longer exist for up to 1 / (1 - beta) steps.
 *  reset    zero them and restart bias correction. Always consistent, but it throws away the
 *           history, so the first steps after each refresh are noisy (Adam's warm-up again).
 *  project  carry them into the new basis (as LDAdam-style methods do): with the change of basis
 *           C = P_new^T P_old (left) and D = Q_old Q_new^T (right),
 *             m' = C m D
 *             v' = C^2 max(v - m^2, 0) D^2 + (C m D)^2      (squares elementwise)
 *           the second line is the exact second moment of C x D for coordinates x with mean m and
 *           variance v - m^2 that vary independently. Costs two small matmuls per moment, keeps
 *           history, but v' is an estimate (real coordinates are correlated).
 */
import { add, cast, computeDTypeOf, matmul, maximum, square, sub, type Tensor, tidy } from '@galore-ts/core';
import type { SubspaceBases } from './subspace.js';

export const SUBSPACE_CHANGE_POLICIES = ['keep', 'reset', 'project'] as const;

export type SubspaceChangePolicy = (typeof SUBSPACE_CHANGE_POLICIES)[number];

/** Change-of-basis matrices from the old coordinates to the new ones (r x r each). */
export interface BasisChange {
  left?: Tensor;
  right?: Tensor;
}

/** C = P_new^T P_old and D = Q_old Q_new^T, in float32. */
export function basisChange(previous: SubspaceBases, current: SubspaceBases): BasisChange {
  return tidy(() => {
    const f = (t: Tensor) => cast(t, computeDTypeOf(t));
    const change: BasisChange = {};
    if (previous.left && current.left) change.left = matmul(f(current.left).T, f(previous.left));
    if (previous.right && current.right) change.right = matmul(f(previous.right), f(current.right).T);
    return change;
  });
}

/** C m D (either factor may be absent). Returns a new tensor. */
export function changeFirstMoment(m: Tensor, change: BasisChange): Tensor {
  return tidy(() => {
    let out = m;
    if (change.left) out = matmul(change.left, out);
    if (change.right) out = matmul(out, change.right);
    return out === m ? m.clone() : out;
  });
}

/** C^2 max(v - m^2, 0) D^2 + (C m D)^2, with m the first moment before the change. */
export function changeSecondMoment(v: Tensor, m: Tensor, change: BasisChange): Tensor {
  return tidy(() => {
    let variance = maximum(sub(v, square(m)), 0);
    if (change.left) variance = matmul(square(change.left), variance);
    if (change.right) variance = matmul(variance, square(change.right));
    return add(variance, square(changeFirstMoment(m, change)));
  });
}

/** Adam's two moments carried into the new subspace, as new tensors in the moments' own dtypes. */
export function changeAdamMoments(m: Tensor, v: Tensor, change: BasisChange): { m: Tensor; v: Tensor } {
  // The changes compute in float32; tidy frees those results once cast back (bf16 moments).
  return tidy(() => ({
    m: changeFirstMoment(m, change).to(m.dtype),
    v: changeSecondMoment(v, m, change).to(v.dtype),
  }));
}

/**
 * A factored second-moment vector along the subspace axis (Adafactor's row or column statistic):
 * v' = C^2 v for a left change (column vector), v D^2 for a right change. The diagonal part of the
 * full rule above; Adafactor keeps no per-element first moment to correct it with.
 */
export function changeFactor(v: Tensor, squaredChange: Tensor, side: 'left' | 'right'): Tensor {
  return tidy(() => {
    if (side === 'left') return matmul(squaredChange, v.reshape([v.size, 1])).reshape([v.size]);
    return matmul(v.reshape([1, v.size]), squaredChange).reshape([v.size]);
  });
}
