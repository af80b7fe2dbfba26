/**
 * Options are taken as PyTorch users write them (top-level group keys, snake_case names) or in
 * this library's camelCase, and an unknown name is refused, never ignored (issue 9, item 1).
 */
import { describe, expect, it } from 'vitest';
import { AdamW, constantSchedule, LRScheduler, linearWarmupCosine, SGD } from '../../src/optim/index.js';
import { param, setGrad, values } from './helpers.js';

describe('optimizer options as PyTorch spells them', () => {
  it('takes a group override at the top level of the group, as torch.optim does', () => {
    const a = param([1, 2]);
    const b = param([3, 4]);
    const opt = new AdamW([{ params: [a] }, { params: [b], lr: 0.5, weight_decay: 0 }], { lr: 0.1 });
    expect(opt.paramGroups[0]!.options).toMatchObject({ lr: 0.1, weightDecay: 0.01 });
    expect(opt.paramGroups[1]!.options).toMatchObject({ lr: 0.5, weightDecay: 0 });
  });

  it('trains the same with top-level, snake_case and nested `options` overrides', () => {
    const run = (group: Record<string, unknown>) => {
      const p = param([1, -2, 3]);
      const opt = new SGD([{ params: [p], ...group }], { lr: 0.1 });
      for (let i = 0; i < 3; i++) {
        setGrad(p, [0.5, 0.25, -1]);
        opt.step();
      }
      return values(p);
    };
    const nested = run({ options: { momentum: 0.9, weightDecay: 0.1 } });
    expect(run({ momentum: 0.9, weight_decay: 0.1 })).toEqual(nested);
    expect(run({ momentum: 0.9, weightDecay: 0.1 })).toEqual(nested);
    expect(nested).not.toEqual(run({}));
  });

  it('takes snake_case names in the optimizer-wide options', () => {
    const opt = new SGD([param([1])], { lr: 0.1, weight_decay: 0.2, momentum: 0.5 });
    expect(opt.paramGroups[0]!.options).toMatchObject({ lr: 0.1, weightDecay: 0.2, momentum: 0.5 });
  });

  it('refuses an unknown option, naming it, suggesting the near one and listing the known ones', () => {
    expect(() => new SGD([param([1])], { lr: 0.1, momentun: 0.9 })).toThrow(
      /SGD: options: unknown option 'momentun' \(did you mean 'momentum'\?\); known options: lr, momentum, dampening, nesterov, weightDecay/,
    );
    expect(() => new AdamW([{ params: [param([1])], maximize: true }])).toThrow(
      /AdamW: parameter group 0: unknown option 'maximize'; known options: lr, betas, eps, weightDecay/,
    );
  });

  it('refuses one option given twice in two spellings or two places', () => {
    expect(() => new AdamW([param([1])], { weight_decay: 0.1, weightDecay: 0.2 })).toThrow(
      /AdamW: options: weightDecay is given twice \(as 'weight_decay' and 'weightDecay'\)/,
    );
    expect(() => new AdamW([{ params: [param([1])], lr: 0.1, options: { lr: 0.2 } }])).toThrow(
      /AdamW: parameter group 0: lr is given twice \(at the top level of the group and under `options`\)/,
    );
  });

  it("accepts PyTorch's amsgrad: false and refuses amsgrad: true (not implemented)", () => {
    expect(new AdamW([param([1])], { amsgrad: false }).paramGroups[0]!.options.amsgrad).toBe(false);
    expect(() => new AdamW([param([1])], { amsgrad: true })).toThrow(/amsgrad is not implemented/);
  });
});

describe('schedule and scheduler options', () => {
  it('take snake_case names', () => {
    expect(constantSchedule({ warmup_steps: 2 })(1)).toBe(0.5);
    expect(linearWarmupCosine({ warmup_steps: 0, total_steps: 10, min_lr_ratio: 0 })(10)).toBe(0);
    const scheduler = new LRScheduler(new SGD([param([1])], { lr: 0.1 }), constantSchedule(), { base_lr: 0.5 });
    expect(scheduler.baseLrs).toEqual([0.5]);
  });

  it('refuse unknown names', () => {
    expect(() => constantSchedule({ warmup: 2 })).toThrow(
      /constantSchedule: unknown option 'warmup' \(did you mean 'warmupSteps'\?\)/,
    );
    expect(() => linearWarmupCosine({ warmupSteps: 0, totalSteps: 10, minLr: 0 })).toThrow(
      /linearWarmupCosine: unknown option 'minLr' \(did you mean 'minLrRatio'\?\)/,
    );
    expect(() => new LRScheduler(new SGD([param([1])]), constantSchedule(), { lr: 0.5 })).toThrow(
      /LRScheduler: unknown option 'lr'; known options: baseLr/,
    );
  });
});
