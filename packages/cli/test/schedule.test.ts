/** The schedule flags' meaning: which LRSchedule --lr-scheduler, --warmup and --warmup-ratio build. */
import { describe, expect, it } from 'vitest';
import { checkScheduleFlags, scheduleOf, warmupStepsOf } from '../src/setup/schedule.js';

describe('schedule flags', () => {
  it('linear: warmup, then a straight line to 0 at the last step (run_glue.py)', () => {
    const f = scheduleOf({ lrScheduler: 'linear', warmup: 2 }, 10);
    expect([0, 1, 2, 6, 10].map(f)).toEqual([0, 0.5, 1, 0.5, 0]);
  });

  it('cosine ends at 0; constant holds the peak after warmup', () => {
    const cosine = scheduleOf({ lrScheduler: 'cosine' }, 10);
    expect(cosine(0)).toBe(1);
    expect(cosine(5)).toBeCloseTo(0.5, 15);
    expect(cosine(10)).toBeCloseTo(0, 15);
    const constant = scheduleOf({ lrScheduler: 'constant', warmup: 4 }, 10);
    expect([0, 2, 4, 10].map(constant)).toEqual([0, 0.5, 1, 1]);
  });

  it('--warmup-ratio is a fraction of all steps rounded up, as transformers does it', () => {
    expect(warmupStepsOf({ lrScheduler: 'linear', warmupRatio: 0.06 }, 100)).toBe(6);
    expect(warmupStepsOf({ lrScheduler: 'linear', warmupRatio: 0.06 }, 101)).toBe(7);
    expect(warmupStepsOf({ lrScheduler: 'linear' }, 100)).toBe(0);
  });

  it('refuses both warmups at once and a warmup longer than the run, by flag', () => {
    expect(() => checkScheduleFlags({ lrScheduler: 'linear', warmup: 1, warmupRatio: 0.1 })).toThrow(
      '--warmup and --warmup-ratio both set the warmup',
    );
    expect(() => scheduleOf({ lrScheduler: 'linear', warmup: 11 }, 10)).toThrow(
      '--warmup 11 is longer than the whole run (10 optimizer steps)',
    );
  });
});
