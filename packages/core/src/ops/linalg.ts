/** Linear algebra used by GaLore's projector (no gradients flow through these). */
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { empty } from './util.js';

function asFloat32Matrix(where: string, x: Tensor): Tensor {
  if (x.rank !== 2) throw new RangeError(`${where}: expected a 2-D matrix, got shape ${formatShape(x.shape)}`);
  return x.dtype === 'float32' || x.dtype === 'float64' ? x : cast(x, 'float32');
}

/** Thin SVD A = U diag(S) Vt with k = min(m, n), singular values descending. */
export function svd(x: Tensor): { U: Tensor; S: Tensor; Vt: Tensor } {
  const a = asFloat32Matrix('svd', x);
  const [m, n] = a.shape as [number, number];
  const k = Math.min(m, n);
  const U = empty([m, k], a.dtype, a.backend);
  const S = empty([k], a.dtype, a.backend);
  const Vt = empty([k, n], a.dtype, a.backend);
  a.backend.run('svd', { a: a.storage, u: U.storage, s: S.storage, vt: Vt.storage }, { m, n });
  if (a !== x) a.dispose();
  return { U, S, Vt };
}

/** Thin QR of an m x n matrix with m >= n: Q is m x n with orthonormal columns, R upper-triangular. */
export function qr(x: Tensor): { Q: Tensor; R: Tensor } {
  const a = asFloat32Matrix('qr', x);
  const [m, n] = a.shape as [number, number];
  if (m < n) throw new RangeError(`qr: expected a tall or square matrix (m >= n), got ${formatShape(x.shape)}`);
  const Q = empty([m, n], a.dtype, a.backend);
  const R = empty([n, n], a.dtype, a.backend);
  a.backend.run('qr', { a: a.storage, q: Q.storage, r: R.storage }, { m, n });
  if (a !== x) a.dispose();
  return { Q, R };
}
