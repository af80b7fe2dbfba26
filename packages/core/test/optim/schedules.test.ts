import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdamW, constantSchedule, LRScheduler, linearWarmupCosine, linearWarmupDecay } from '../../src/optim/index.js';
import { param } from './helpers.js';

describe('linearWarmupCosine', () => {
  const f = linearWarmupCosine({ warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 });

  it('warms up linearly from 0 to the peak', () => {
    expect(f(0)).toBe(0);
    expect(f(1)).toBeCloseTo(0.1, 15);
    expect(f(5)).toBeCloseTo(0.5, 15);
    expect(f(10)).toBe(1);
  });

  it('decays along a half cosine to minLrRatio at totalSteps and stays there', () => {
    // Halfway through the decay the cosine term is 0.5: 0.1 + 0.9 * 0.5.
    expect(f(60)).toBeCloseTo(0.55, 15);
    // A quarter through: 0.5 * (1 + cos(pi / 4)).
    expect(f(35)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2), 15);
    expect(f(110)).toBeCloseTo(0.1, 15);
    expect(f(500)).toBe(0.1);
  });

  it('never increases after warmup and stays in [minLrRatio, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (warmup, decay, ratio) => {
          const g = linearWarmupCosine({ warmupSteps: warmup, totalSteps: warmup + decay, minLrRatio: ratio });
          let previous = g(warmup);
          expect(previous).toBeCloseTo(1, 12);
          for (let s = warmup + 1; s <= warmup + decay + 2; s++) {
            const now = g(s);
            expect(now).toBeLessThanOrEqual(previous + 1e-15);
            expect(now).toBeGreaterThanOrEqual(ratio - 1e-15);
            previous = now;
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('starts at the peak without warmup; minLrRatio defaults to 0.1 as in GaLore', () => {
    const g = linearWarmupCosine({ warmupSteps: 0, totalSteps: 100 });
    expect(g(0)).toBe(1);
    expect(g(100)).toBeCloseTo(0.1, 15);
  });

  it('rejects inconsistent options and bad steps', () => {
    expect(() => linearWarmupCosine({ warmupSteps: 20, totalSteps: 10 })).toThrow(
      /warmupSteps \(20\) must not exceed totalSteps \(10\)/,
    );
    expect(() => linearWarmupCosine({ warmupSteps: 1, totalSteps: 10, minLrRatio: 1.5 })).toThrow(
      /minLrRatio must be in \[0, 1\], got 1.5/,
    );
    expect(() => linearWarmupCosine({ warmupSteps: -1, totalSteps: 10 })).toThrow(
      /warmupSteps must be an integer >= 0, got -1/,
    );
    expect(() => f(-1)).toThrow(/step must be a finite number >= 0, got -1/);
  });
});

describe('linearWarmupDecay', () => {
  it('warms up to the peak, then falls on a straight line to 0 at totalSteps and stays there', () => {
    const f = linearWarmupDecay({ warmupSteps: 4, totalSteps: 14 });
    expect([0, 1, 2, 4].map(f)).toEqual([0, 0.25, 0.5, 1]);
    // After warmup: (total - step) / (total - warmup).
    expect(f(9)).toBeCloseTo(0.5, 15);
    expect(f(13)).toBeCloseTo(0.1, 15);
    expect([14, 20].map(f)).toEqual([0, 0]);
  });

  it('starts at the peak without warmup, as run_glue.py does by default', () => {
    const f = linearWarmupDecay({ warmupSteps: 0, totalSteps: 8 });
    expect([0, 2, 8].map(f)).toEqual([1, 0.75, 0]);
    // A one-step run: the single update takes the peak lr.
    expect(linearWarmupDecay({ warmupSteps: 0, totalSteps: 1 })(0)).toBe(1);
  });

  it('rejects warmup longer than the run and missing counts', () => {
    expect(() => linearWarmupDecay({ warmupSteps: 5, totalSteps: 4 })).toThrow(
      /linearWarmupDecay: warmupSteps \(5\) must not exceed totalSteps \(4\)/,
    );
    expect(() => linearWarmupDecay({ warmupSteps: 0 } as never)).toThrow(/totalSteps must be an integer >= 0/);
  });
});

describe('constantSchedule', () => {
  it('is 1 everywhere, after an optional warmup', () => {
    const f = constantSchedule();
    expect([0, 1, 1000].map(f)).toEqual([1, 1, 1]);
    const g = constantSchedule({ warmupSteps: 4 });
    expect([0, 1, 4, 9].map(g)).toEqual([0, 0.25, 1, 1]);
  });
});

describe('LRScheduler', () => {
  function twoGroups() {
    return new AdamW([{ params: [param([1])] }, { params: [param([1])], options: { lr: 0.01 } }], { lr: 0.1 });
  }

  it('sets lr = base lr * schedule(step) on every group, starting at step 0', () => {
    const opt = twoGroups();
    const sched = new LRScheduler(opt, linearWarmupCosine({ warmupSteps: 2, totalSteps: 4, minLrRatio: 0.5 }));
    expect(sched.lastLrs).toEqual([0, 0]);
    sched.step();
    expect(sched.lastLrs[0]).toBeCloseTo(0.05, 15);
    expect(sched.lastLrs[1]).toBeCloseTo(0.005, 15);
    sched.step();
    expect(sched.lastLrs).toEqual([0.1, 0.01]);
    sched.step();
    sched.step();
    expect(sched.currentStep).toBe(4);
    expect(opt.paramGroups.map((g) => g.options.lr)).toEqual([0.05, 0.005]);
  });

  it('a baseLr option sets one peak for every group', () => {
    const sched = new LRScheduler(twoGroups(), constantSchedule(), { baseLr: 0.3 });
    expect(sched.lastLrs).toEqual([0.3, 0.3]);
  });

  it('restores its step and base lrs from JSON, even onto groups that hold scheduled lrs', () => {
    const schedule = linearWarmupCosine({ warmupSteps: 3, totalSteps: 10 });
    const a = twoGroups();
    const first = new LRScheduler(a, schedule);
    for (let i = 0; i < 5; i++) first.step();
    const saved = JSON.parse(JSON.stringify(first.stateDict()));
    expect(saved).toEqual({ step: 5, baseLrs: [0.1, 0.01] });

    const b = twoGroups();
    b.setOption('lr', 0.0123); // what a resumed optimizer's groups hold: some scheduled lr
    const second = new LRScheduler(b, schedule);
    second.loadStateDict(saved);
    expect(second.lastLrs).toEqual(first.lastLrs);
    first.step();
    second.step();
    expect(second.lastLrs).toEqual(first.lastLrs);
  });

  it('rejects a state for another number of groups', () => {
    const sched = new LRScheduler(twoGroups(), constantSchedule());
    expect(() => sched.loadStateDict({ step: 1, baseLrs: [0.1] })).toThrow(/one number per parameter group \(2\)/);
    expect(() => sched.loadStateDict({ step: -1, baseLrs: [0.1, 0.1] })).toThrow(
      /step must be an integer >= 0, got -1/,
    );
  });
});
