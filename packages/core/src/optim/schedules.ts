/**
 * Learning-rate schedules as pure functions from the number of optimizer steps taken so far
 * (0 before the first) to a multiplier of the peak learning rate.
 */

import type { OptionsInput } from './optimizer.js';
import { normalizeOptions } from './option-names.js';

export type LRSchedule = (step: number) => number;

function checkStep(step: number): void {
  if (typeof step !== 'number' || !(step >= 0) || !Number.isFinite(step)) {
    throw new RangeError(`LR schedule: step must be a finite number >= 0, got ${String(step)}`);
  }
}

function checkCount(where: string, name: string, value: number | undefined): asserts value is number {
  if (value === undefined || !Number.isInteger(value) || value < 0)
    throw new RangeError(`${where}: ${name} must be an integer >= 0, got ${String(value)}`);
}

/** Multiplier 1 at every step (after an optional linear warmup from 0). */
export function constantSchedule(given: OptionsInput<{ warmupSteps: number }> = {}): LRSchedule {
  const options: { warmupSteps?: number } = normalizeOptions('constantSchedule', given, ['warmupSteps']);
  const warmupSteps = options.warmupSteps ?? 0;
  checkCount('constantSchedule', 'warmupSteps', warmupSteps);
  return (step) => {
    checkStep(step);
    return step < warmupSteps ? step / warmupSteps : 1;
  };
}

/**
 * Linear warmup from 0 to 1 over warmupSteps, then a straight line down to 0 at totalSteps, where
 * it stays: transformers' `get_linear_schedule_with_warmup`, the default of its run_glue scripts.
 */
export function linearWarmupDecay(options: OptionsInput<{ warmupSteps: number; totalSteps: number }>): LRSchedule {
  const where = 'linearWarmupDecay';
  const { warmupSteps, totalSteps } = normalizeOptions(where, options, ['warmupSteps', 'totalSteps']) as {
    warmupSteps?: number;
    totalSteps?: number;
  };
  checkCount(where, 'warmupSteps', warmupSteps);
  checkCount(where, 'totalSteps', totalSteps);
  if (warmupSteps > totalSteps)
    throw new RangeError(`${where}: warmupSteps (${warmupSteps}) must not exceed totalSteps (${totalSteps})`);
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return step / warmupSteps;
    return Math.max(0, (totalSteps - step) / decaySteps);
  };
}

export interface WarmupCosineOptions {
  /** Steps of linear warmup from 0 to the peak (GaLore's runs use 10% of totalSteps). */
  warmupSteps: number;
  /** The step at which the cosine reaches its floor. */
  totalSteps: number;
  /** The floor, as a fraction of the peak (default 0.1, as in the GaLore paper). */
  minLrRatio?: number;
}

/**
 * Linear warmup from 0 to 1 over warmupSteps, then a half cosine from 1 down to minLrRatio at
 * totalSteps, as the official GaLore scheduler; past totalSteps it stays at minLrRatio (where a
 * cyclical schedule would climb again).
 */
export function linearWarmupCosine(options: OptionsInput<WarmupCosineOptions>): LRSchedule {
  const where = 'linearWarmupCosine';
  const {
    warmupSteps,
    totalSteps,
    minLrRatio = 0.1,
  } = normalizeOptions(where, options, ['warmupSteps', 'totalSteps', 'minLrRatio']) as Partial<WarmupCosineOptions>;
  checkCount(where, 'warmupSteps', warmupSteps);
  checkCount(where, 'totalSteps', totalSteps);
  if (warmupSteps > totalSteps)
    throw new RangeError(`${where}: warmupSteps (${warmupSteps}) must not exceed totalSteps (${totalSteps})`);
  if (typeof minLrRatio !== 'number' || !(minLrRatio >= 0 && minLrRatio <= 1)) {
    throw new RangeError(`${where}: minLrRatio must be in [0, 1], got ${String(minLrRatio)}`);
  }
  const decaySteps = totalSteps - warmupSteps;
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return step / warmupSteps;
    if (step >= totalSteps) return minLrRatio;
    const progress = (step - warmupSteps) / decaySteps;
    return minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
