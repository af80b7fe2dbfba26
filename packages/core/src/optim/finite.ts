/**
 * Whether tensors hold only finite values, for the guards that keep one NaN or Inf out of the
 * weights and optimizer state: non-finite gradients (optimizer.ts) and failed SVDs (GaLore's
 * projector).
 */
import { toNumberArray } from '../dtype.js';
import { tidy } from '../engine.js';
import { eq, mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

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
    // Every step checks every gradient: read the elements in place where the backend allows.
    const raw = backend.viewSync ? backend.viewSync(t.storage) : backend.readSync(t.storage);
    if (!everyFinite(toNumberArray(t.dtype, raw))) return false;
  }
  return true;
}

function everyFinite(values: ArrayLike<number>): boolean {
  const n = values.length;
  // x - x is 0 for finite x and NaN for NaN and +-Inf.
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v - v !== 0) return false;
  }
  return true;
}

/**
 * A uint8 scalar on the device: 1 when every element of `t` is finite. x * 0 is 0 for finite x and
 * NaN for NaN and Inf, so the sum is 0 exactly when all are finite (a sum of |x| could overflow).
 */
export function finiteFlag(t: Tensor): Tensor {
  return tidy(() => eq(sum(mul(t, 0)), 0));
}
