/**
 * What flags given with `--resume` do. A checkpoint's optimizer state overrides the optimizer's
 * hyper-parameters when it loads, so each flag is either re-applied after the load (honoured from
 * the next step on) or refused here, before anything is built: never printed and then dropped.
 *
 *   honoured: --lr (the schedule keeps its step and shape: lr = new peak x schedule(step)),
 *             --weight-decay, --update-proj-gap, --galore-scale, --steps above the checkpoint's
 *             step (the cosine is spread over the new total), and every flag the optimizer state
 *             does not hold (evaluation, checkpoints, warmup, clipping...).
 *   refused:  --optimizer, --rank, --proj-type, --target-modules, --model, --dtype, --optim-dtype (the saved
 *             moments and projectors have their shapes and types), --method and its adapter flags
 *             (the saved weights are the adapters they built), --format and --text-field (the data
 *             position counts records read that way), and --steps at or below it.
 */
import type { Trainer } from '@galore-ts/core';
import { flagOf } from '../flag-names.js';
import type { RunSettings } from './train-settings.js';

/** Settings the saved optimizer state and weights are built for: a resume must keep them. */
const FIXED_ON_RESUME = [
  'optimizer',
  'rank',
  'projType',
  'targetModules',
  'model',
  'dtype',
  'optimDtype',
  'method',
  'loraRank',
  'loraAlpha',
  'modulesToSave',
  'reloraResetEvery',
  'reloraOptimizerReset',
  'format',
  'textField',
] as const;

/** Throws when `settings` (saved values overridden by the flags) cannot continue the checkpoint. */
export function checkResumable(
  settings: RunSettings,
  saved: Partial<RunSettings>,
  checkpoint: { dir: string; step: number },
): void {
  for (const key of FIXED_ON_RESUME) {
    const before = saved[key];
    const now = settings[key];
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(now)) {
      throw new Error(
        `${flagOf(key)} ${show(now)} cannot change on --resume: ${checkpoint.dir} was trained with ${show(before)} and its optimizer state and weights are built for it; resume without ${flagOf(key)}, or start a new run`,
      );
    }
  }
  if (settings.steps <= checkpoint.step) {
    throw new Error(
      `--steps ${settings.steps}: ${checkpoint.dir} is already at step ${checkpoint.step}, so there is nothing to train; give --steps above ${checkpoint.step}`,
    );
  }
}

/**
 * Re-applies the run's hyper-parameters after `trainer.resume()` loaded the saved ones: every
 * group's peak lr, weight decay, and the GaLore groups' refresh interval and scale.
 */
export function applyResumedSettings(trainer: Trainer, settings: RunSettings): void {
  const groups = trainer.optimizer.paramGroups as readonly { options: Record<string, unknown> }[];
  for (const { options } of groups) {
    options.weightDecay = settings.weightDecay;
    // Only GaLore's projected groups carry a rank; their other settings are read at every step.
    if (options.rank !== undefined) {
      if (settings.updateProjGap !== undefined) options.updateProjGap = settings.updateProjGap;
      if (settings.galoreScale !== undefined) options.scale = settings.galoreScale;
    }
  }
  const { step } = trainer.scheduler.stateDict();
  trainer.scheduler.loadStateDict({ step, baseLrs: groups.map(() => settings.lr) });
}

function show(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
