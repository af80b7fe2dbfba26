/**
 * ReLoRA's "jagged" cosine schedule (Guitaricet/relora, cosine_restarts): a linear warmup, then
 * one cosine decay over the whole run to minLrRatio, except that after every restart (each
 * `restartEvery` steps) the rate climbs again from 0 to the cosine's value over
 * `restartWarmupSteps`, so the fresh adapters are not hit by the full rate at once.
 */
import type { LRSchedule } from '../optim/schedules.js';

export interface JaggedCosineOptions {
  warmupSteps: number;
  totalSteps: number;
  /** Steps between restarts (ReLoRA's reset_every). */
  restartEvery: number;
  /** Re-warmup length after each restart (default 10% of restartEvery, at least 1). */
  restartWarmupSteps?: number;
  /** The cosine's floor as a fraction of the peak (default 0.1). */
  minLrRatio?: number;
}

export function jaggedCosine(options: JaggedCosineOptions): LRSchedule {
  const { warmupSteps, totalSteps, restartEvery, minLrRatio = 0.1 } = options;
  const restartWarmup = options.restartWarmupSteps ?? Math.max(1, Math.floor(restartEvery / 10));
  for (const [name, value] of Object.entries({ warmupSteps, totalSteps, restartWarmup })) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`jaggedCosine: ${name} must be an integer >= 0, got ${String(value)}`);
  }
  if (!Number.isInteger(restartEvery) || restartEvery < 1)
    throw new RangeError(`jaggedCosine: restartEvery must be a positive integer, got ${String(restartEvery)}`);
  if (restartWarmup > restartEvery)
    throw new RangeError(`jaggedCosine: restartWarmupSteps (${restartWarmup}) exceeds restartEvery (${restartEvery})`);
  if (!(minLrRatio >= 0 && minLrRatio <= 1))
    throw new RangeError(`jaggedCosine: minLrRatio must be in [0, 1], got ${String(minLrRatio)}`);
  const cosine = (step: number): number => {
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
  return (step) => {
    if (step < warmupSteps) return step / warmupSteps;
    const sinceRestart = step % restartEvery;
    if (step >= restartEvery && sinceRestart < restartWarmup) {
      // Climb towards the cosine's value at the end of this re-warmup.
      return (sinceRestart / restartWarmup) * cosine(step - sinceRestart + restartWarmup);
    }
    return cosine(step);
  };
}
