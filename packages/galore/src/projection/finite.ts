/**
 * Whether freshly computed bases are usable. An SVD that failed to converge, or ran on a gradient
 * holding Inf/NaN, must not turn the weights into NaN: the caller keeps its previous basis.
 */
import { abs, lt, sum, type Tensor, tidy } from '@galore-ts/core';

/**
 * true / false when the answer is known now; 'unknown' on backends that only read asynchronously
 * (the caller then guards on the device with `finiteFlag`). The meta backend computes nothing, so
 * its bases count as finite.
 */
export function allFiniteNow(tensors: readonly Tensor[]): boolean | 'unknown' {
  const first = tensors[0];
  if (!first) return true;
  const backend = first.backend;
  if (!backend.computes) return true;
  if (!backend.readSync) return 'unknown';
  for (const t of tensors) {
    for (const v of t.dataSync()) if (!Number.isFinite(v)) return false;
  }
  return true;
}

/** A uint8 scalar on the device: 1 when every element of `t` is finite (NaN and Inf give 0). */
export function finiteFlag(t: Tensor): Tensor {
  return tidy(() => lt(sum(abs(t)), Number.POSITIVE_INFINITY));
}
