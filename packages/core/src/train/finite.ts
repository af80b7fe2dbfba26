/** Whether weights and optimizer state are fit to be checkpointed: every float element finite. */
import { isFloating } from '../dtype.js';
import type { Tensor } from '../tensor.js';

/** The first tensor holding a NaN or an infinity, with that value; null when all are finite. */
export async function firstNonFinite(
  tensors: Iterable<readonly [string, Tensor]>,
): Promise<{ name: string; value: number } | null> {
  for (const [name, t] of tensors) {
    // Integer tensors (8-bit codes) cannot hold a NaN; the meta backend holds no values.
    if (!isFloating(t.dtype) || !t.backend.computes) continue;
    for (const value of await t.data()) if (!Number.isFinite(value)) return { name, value };
  }
  return null;
}
