/**
 * GaLore options as the official README and Hugging Face write them: parameter groups with
 * top-level snake_case keys, and createOptimizer with Hugging Face's TrainingArguments names.
 * Every name is honoured or refused (issue 9, item 1).
 */
import { manualSeed, randn, type Tensor } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import {
  AdamW8bit,
  createOptimizer,
  GaLoreAdafactor,
  GaLoreAdamW,
  GaLoreAdamW8bit,
  LayerwiseUpdater,
} from '../src/index.js';
import { tinyLlama } from './helpers.js';

/** The group of the official README: `{'params': galore_params, 'rank': ..., 'update_proj_gap': ..., ...}`. */
const official = (params: Tensor[]) => ({ params, rank: 4, update_proj_gap: 50, scale: 0.5, proj_type: 'left' });

describe('official GaLore parameter groups', () => {
  it.each([
    ['GaLoreAdamW', (g: ReturnType<typeof official>) => new GaLoreAdamW([g], { lr: 1e-2 })],
    ['GaLoreAdamW8bit', (g: ReturnType<typeof official>) => new GaLoreAdamW8bit([g], { lr: 1e-2 })],
    [
      'GaLoreAdafactor',
      (g: ReturnType<typeof official>) => new GaLoreAdafactor([g], { lr: 1e-2, relative_step: false }),
    ],
  ])('%s projects with the group keys of the official README', (_name, build) => {
    manualSeed(1);
    const w = randn([12, 10], { requiresGrad: true });
    const opt = build(official([w]));
    expect(opt.paramGroups[0]!.options).toMatchObject({ lr: 1e-2, rank: 4, updateProjGap: 50, scale: 0.5 });
    w.grad = randn([12, 10]);
    opt.step();
    const state = opt.stateDict().tensors;
    expect(state['state.0.projector_left']!.shape).toEqual([12, 4]);
    opt.dispose();
  });

  it('refuses a misspelt GaLore key, suggesting the right one', () => {
    const w = randn([6, 6], { requiresGrad: true });
    expect(() => new GaLoreAdamW([{ params: [w], rnak: 4 }])).toThrow(
      /GaLoreAdamW: parameter group 0: unknown option 'rnak' \(did you mean 'rank'\?\); known options: .*updateProjGap/,
    );
    expect(() => new GaLoreAdamW([w], { update_proj_gaps: 10 })).toThrow(/unknown option 'update_proj_gaps'/);
  });

  it("takes bitsandbytes' min_8bit_size and refuses a GaLore rank in AdamW8bit", () => {
    const w = randn([6, 6], { requiresGrad: true });
    expect(new AdamW8bit([w], { min_8bit_size: 16 }).paramGroups[0]!.options.minQuantizedSize).toBe(16);
    expect(() => new AdamW8bit([{ params: [w], rank: 2 }])).toThrow(
      /AdamW8bit: parameter group 0: unknown option 'rank'/,
    );
  });
});

describe('the layerwise updater and the hooks', () => {
  it('take snake_case names and refuse unknown ones', () => {
    const w = randn([6, 6], { requiresGrad: true });
    const optimizer = new GaLoreAdamW([{ params: [w], rank: 2 }]);
    const updater = new LayerwiseUpdater(optimizer, { gradient_accumulation_steps: 2 });
    expect(updater.accumulationSteps).toBe(2);
    updater.dispose();
    expect(() => new LayerwiseUpdater(optimizer, { accumulation: 2 })).toThrow(
      /LayerwiseUpdater: unknown option 'accumulation' \(did you mean 'accumulationSteps'\?\); known options: accumulationSteps, maxGradNorm, scheduler/,
    );
    expect(() => new GaLoreAdamW([{ params: [w], rank: 2 }], {}, { onSvdFail: () => {} })).toThrow(
      /GaLoreAdamW: hooks: unknown option 'onSvdFail' \(did you mean 'onSvdFailure'\?\)/,
    );
  });
});

describe('createOptimizer with Hugging Face names', () => {
  it('honours learning_rate, weight_decay, optim_args (a string) and optim_target_modules', () => {
    const setup = createOptimizer('galore_adamw', tinyLlama().namedParameters(), {
      learning_rate: 0.02,
      weight_decay: 0.1,
      optim_args: 'rank=2, update_proj_gap=50, scale=0.5, proj_type=left',
      optim_target_modules: ['q_proj'],
    });
    expect(setup.projected).toEqual(['model.layers.0.self_attn.q_proj.weight']);
    expect(setup.optimizer.paramGroups[0]!.options).toMatchObject({ lr: 0.02, weightDecay: 0.1 });
    expect(setup.optimizer.paramGroups[1]!.options).toMatchObject({
      lr: 0.02,
      rank: 2,
      updateProjGap: 50,
      scale: 0.5,
      projType: 'left',
    });
  });

  it('takes optim_args as an object too', () => {
    const setup = createOptimizer('galore_adamw', tinyLlama().namedParameters(), {
      optim_args: { rank: 3, update_proj_gap: 7 },
    });
    expect(setup.optimizer.paramGroups[1]!.options).toMatchObject({ rank: 3, updateProjGap: 7 });
  });

  it('refuses an unknown option, one given twice, and one the optimizer does not use', () => {
    const params = () => tinyLlama().namedParameters();
    expect(() => createOptimizer('galore_adamw', params(), { rnak: 4 })).toThrow(
      /createOptimizer: unknown option 'rnak' \(did you mean 'rank'\?\); known options: lr, /,
    );
    expect(() => createOptimizer('galore_adamw', params(), { rank: 4, optim_args: 'rank=8' })).toThrow(
      /rank is given twice/,
    );
    expect(() => createOptimizer('galore_adamw', params(), { optim_args: 'rank' })).toThrow(
      /optim_args: expected key=value pairs separated by commas, got "rank"/,
    );
    expect(() => createOptimizer('adamw', params(), { rank: 4 })).toThrow(
      /createOptimizer: 'adamw' does not use rank; it applies to galore_adamw, galore_adamw_8bit, galore_adafactor/,
    );
    expect(() => createOptimizer('galore_adamw_8bit', params(), { stateDType: 'bfloat16' })).toThrow(
      /'galore_adamw_8bit' does not use stateDType; it applies to galore_adamw/,
    );
    expect(() => createOptimizer('galore_adafactor', params(), { betas: [0.9, 0.99] })).toThrow(
      /'galore_adafactor' does not use betas/,
    );
    // An lr beside relativeStep: true is refused, not dropped.
    expect(() => createOptimizer('galore_adafactor', params(), { relativeStep: true, lr: 0.01 })).toThrow(
      /a manual lr \(0.01\) cannot be combined with relativeStep: true/,
    );
  });
});
