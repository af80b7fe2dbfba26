/**
 * Learning-rate schedule flags. `--warmup` is shared with `train`; `glue` adds the schedule's shape
 * and a warmup given as a fraction of the run, as transformers' run_glue scripts and Trainer take
 * them (`--lr_scheduler_type`, `--num_warmup_steps`, `--warmup_ratio`).
 */
import { constantSchedule, type LRSchedule, linearWarmupCosine, linearWarmupDecay } from '@galore-ts/core';
import { type Command, Option } from 'commander';
import { fraction, nonNegativeInteger } from '../parse.js';

/** linear: warmup then a straight line to 0 (run_glue's default); cosine: to 0 on a half cosine; constant: the peak after warmup. */
export const LR_SCHEDULER_NAMES = ['linear', 'cosine', 'constant'] as const;
export type LrSchedulerName = (typeof LR_SCHEDULER_NAMES)[number];

/** The `--warmup <n>` flag, with the command's own default written in its help. */
export function warmupOption(defaultText: string): Option {
  return new Option('--warmup <n>', `linear warmup steps (default: ${defaultText})`).argParser(nonNegativeInteger);
}

export interface ScheduleFlags {
  lrScheduler: LrSchedulerName;
  warmup?: number;
  warmupRatio?: number;
}

/** --lr-scheduler, --warmup and --warmup-ratio, on a command whose run length is known only once the data is read. */
export function addScheduleOptions(command: Command, defaultScheduler: LrSchedulerName): Command {
  return command
    .addOption(
      new Option('--lr-scheduler <name>', 'learning-rate schedule over the whole run')
        .choices([...LR_SCHEDULER_NAMES])
        .default(defaultScheduler),
    )
    .addOption(warmupOption('0'))
    .addOption(
      new Option('--warmup-ratio <x>', 'warmup as a fraction of all optimizer steps, rounded up').argParser(fraction),
    );
}

/** Usage errors before anything is read. */
export function checkScheduleFlags(flags: ScheduleFlags): void {
  if (flags.warmup !== undefined && flags.warmupRatio !== undefined) {
    throw new Error('--warmup and --warmup-ratio both set the warmup: give one of them');
  }
}

/** The warmup in steps: --warmup, or --warmup-ratio of the run rounded up (as transformers' Trainer). */
export function warmupStepsOf(flags: ScheduleFlags, totalSteps: number): number {
  const steps = flags.warmup ?? Math.ceil((flags.warmupRatio ?? 0) * totalSteps);
  if (steps > totalSteps) {
    throw new Error(`--warmup ${steps} is longer than the whole run (${totalSteps} optimizer steps)`);
  }
  return steps;
}

/** The schedule the flags describe for a run of `totalSteps` optimizer steps. */
export function scheduleOf(flags: ScheduleFlags, totalSteps: number): LRSchedule {
  const warmupSteps = warmupStepsOf(flags, totalSteps);
  switch (flags.lrScheduler) {
    case 'linear':
      return linearWarmupDecay({ warmupSteps, totalSteps });
    case 'cosine':
      // transformers' cosine schedule ends at 0, not at GaLore pretraining's 10% floor.
      return linearWarmupCosine({ warmupSteps, totalSteps, minLrRatio: 0 });
    case 'constant':
      return constantSchedule({ warmupSteps });
    default:
      throw new Error(
        `--lr-scheduler: expected one of ${LR_SCHEDULER_NAMES.join(', ')}, got '${String(flags.lrScheduler)}'`,
      );
  }
}
