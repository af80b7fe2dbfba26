/**
 * What ReLoRA does to the optimizer state of the adapters at each restart: magnitude pruning (keep
 * the entries above the `ratio` quantile of |value|, zero the rest; ReLoRA's default 0.99), a full
 * reset to zero, or nothing. The state stays where it is: tensors are changed in place and step
 * counts are kept, as ReLoRA does. Full-size floating moments are pruned (Adam's exp_avg and
 * exp_avg_sq, Adafactor's exp_avg); factored statistics (Adafactor's row and column) are left as
 * they are; 8-bit codes cannot be pruned element by element and are refused by name.
 */
import { isFloating } from '../dtype.js';
import { noGrad, tidy } from '../engine.js';
import { zerosLike } from '../ops/creation.js';
import { cast, mul } from '../ops/elementwise.js';
import { writeInto } from '../optim/update-helpers.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { TrainableOptimizer } from '../train/interfaces.js';

export type OptimizerReset = 'prune' | 'reset' | 'none';

export const OPTIMIZER_RESETS: readonly OptimizerReset[] = ['prune', 'reset', 'none'];

/** Prunes or zeroes the optimizer state of `params` in place. */
export async function resetOptimizerState(
  optimizer: TrainableOptimizer,
  params: readonly Tensor[],
  mode: OptimizerReset,
  ratio = 0.99,
): Promise<void> {
  if (mode === 'none') return;
  const index = parameterIndex(optimizer);
  const state = optimizer.stateDict();
  for (const p of params) {
    const i = index.get(p);
    if (i === undefined) throw new Error(`ReLoRA: the optimizer does not manage ${p.name ?? 'an adapter parameter'}`);
    for (const [key, t] of Object.entries(state.tensors)) {
      if (!key.startsWith(`state.${i}.`)) continue;
      if (!isFloating(t.dtype)) {
        throw new Error(
          `ReLoRA: ${state.json.type} keeps '${key.slice(`state.${i}.`.length)}' as ${t.dtype} codes, which cannot be ${mode === 'prune' ? 'pruned' : 'reset'}; use an optimizer with floating moments (adamw) or optimizer reset 'none'`,
        );
      }
      if (!shapesEqual(t.shape, p.shape)) continue;
      if (mode === 'reset') noGrad(() => tidy(() => writeInto(t, zerosLike(t), 'ReLoRA reset')));
      else await pruneByMagnitude(t, ratio);
    }
  }
}

/** Zeroes the entries whose |value| is at or below the `ratio` quantile (torch.quantile's linear rule). */
export async function pruneByMagnitude(t: Tensor, ratio: number): Promise<void> {
  const magnitudes = Float64Array.from(await t.data(), Math.abs).sort();
  const threshold = quantile(magnitudes, ratio);
  noGrad(() => tidy(() => writeInto(t, mul(t, cast(t.abs().gt(threshold), t.dtype)), 'ReLoRA pruning')));
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (position - lo);
}

/** Parameter -> its number in the optimizer's state dict (parameters numbered across groups). */
function parameterIndex(optimizer: TrainableOptimizer): Map<Tensor, number> {
  const groups = optimizer.paramGroups as readonly { params?: readonly Tensor[] }[];
  if (groups.some((g) => !Array.isArray(g.params)))
    throw new Error('ReLoRA: the optimizer must list its parameters (paramGroups[].params) to reset their state');
  return new Map(groups.flatMap((g) => g.params!).map((p, i) => [p, i]));
}
