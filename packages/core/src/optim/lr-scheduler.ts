/**
 * Applies an LRSchedule to an optimizer: every group's lr = its base lr * schedule(step). Like
 * PyTorch's LambdaLR, construction applies step 0 and each `step()` (called after
 * `optimizer.step()`) advances by one.
 */

import type { OptionsInput } from './optimizer.js';
import { normalizeOptions } from './option-names.js';
import type { LRSchedule } from './schedules.js';

/** What the scheduler needs of an optimizer: groups whose `lr` it can set. */
export interface SchedulableOptimizer {
  readonly paramGroups: readonly { options: { lr?: number } }[];
}

/** The scheduler's resumable state, plain JSON. */
export interface LRSchedulerState {
  step: number;
  /** The peak lr of each group; saved because, after a resume, the groups hold scheduled lrs. */
  baseLrs: number[];
}

export class LRScheduler {
  private stepCount = 0;
  private bases: number[];

  /** `baseLr` sets one peak for every group; otherwise each group's lr at construction is its peak. */
  constructor(
    readonly optimizer: SchedulableOptimizer,
    readonly schedule: LRSchedule,
    given: OptionsInput<{ baseLr: number }> = {},
  ) {
    const options: { baseLr?: number } = normalizeOptions('LRScheduler', given, ['baseLr']);
    this.bases = optimizer.paramGroups.map((g, i) => {
      const lr = options.baseLr ?? g.options.lr;
      if (typeof lr !== 'number' || !(lr >= 0) || !Number.isFinite(lr)) {
        throw new RangeError(
          `LRScheduler: the base lr of parameter group ${i} must be a finite number >= 0, got ${String(lr)}`,
        );
      }
      return lr;
    });
    this.apply();
  }

  /** Steps taken so far. */
  get currentStep(): number {
    return this.stepCount;
  }

  get baseLrs(): readonly number[] {
    return this.bases;
  }

  /** The lr each group has now. */
  get lastLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.options.lr ?? 0);
  }

  /** Advances one step and sets the new learning rates. */
  step(): void {
    this.stepCount++;
    this.apply();
  }

  stateDict(): LRSchedulerState {
    return { step: this.stepCount, baseLrs: [...this.bases] };
  }

  loadStateDict(state: LRSchedulerState): void {
    const { step, baseLrs } = state ?? ({} as Partial<LRSchedulerState>);
    if (!Number.isInteger(step) || (step as number) < 0) {
      throw new RangeError(`LRScheduler.loadStateDict: step must be an integer >= 0, got ${String(step)}`);
    }
    if (
      !Array.isArray(baseLrs) ||
      baseLrs.length !== this.optimizer.paramGroups.length ||
      baseLrs.some((lr) => typeof lr !== 'number')
    ) {
      throw new RangeError(
        `LRScheduler.loadStateDict: baseLrs must hold one number per parameter group (${this.optimizer.paramGroups.length}), got ${JSON.stringify(baseLrs)}`,
      );
    }
    this.stepCount = step as number;
    this.bases = [...baseLrs];
    this.apply();
  }

  private apply(): void {
    const factor = this.schedule(this.stepCount);
    this.optimizer.paramGroups.forEach((g, i) => {
      g.options.lr = this.bases[i]! * factor;
    });
  }
}
