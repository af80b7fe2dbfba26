/**
 * Parameters are ordinary tensors with three properties set: they require grad, their storage is
 * counted under the 'parameter' memory category, and they are kept out of every tidy scope (a
 * module owns them until `dispose()`).
 */

import { isFloating } from '../dtype.js';
import { keep, noGrad, tidy, withCategory } from '../engine.js';
import type { Tensor } from '../tensor.js';

/** Turns a freshly made tensor into a parameter (in place) and returns it. */
export function asParameter(t: Tensor, requiresGrad = true): Tensor {
  if (!isFloating(t.dtype)) throw new TypeError(`asParameter: parameters must be floating tensors, got ${t.dtype}`);
  if (!t.isLeaf) throw new Error('asParameter: expected a leaf tensor (detach() it first), got the output of an op');
  keep(t);
  t.backend.retag(t.storage, 'parameter');
  return t.requiresGrad_(requiresGrad);
}

/**
 * Makes a parameter from `init`, which runs without autograd and with its allocations counted as
 * parameters; temporaries it creates are freed.
 */
export function createParameter(init: () => Tensor): Tensor {
  const t = withCategory('parameter', () => noGrad(() => tidy(init)));
  return asParameter(t);
}
