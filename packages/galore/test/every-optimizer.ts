/**
 * Every optimizer of core and this package, over one weight, for the tests that must hold for all
 * of them (live bytes, non-finite gradients). GaLore variants refresh every second step (T = 2)
 * and run each subspaceChange policy.
 */
import { AdamW, type Optimizer, SGD, type Tensor } from '@galore-ts/core';
import { AdamW8bit, GaLoreAdafactor, GaLoreAdamW, GaLoreAdamW8bit } from '../src/index.js';

/** Big enough for 8-bit states (4096 elements at least), small enough to step fast. */
export const SHAPE = [96, 64];

export type BuildOptimizer = (params: Tensor[]) => Optimizer;

const REFRESHING = { rank: 8, update_proj_gap: 2 };

export const EVERY_OPTIMIZER: [string, BuildOptimizer][] = [
  ['SGD with momentum', (p) => new SGD(p, { lr: 0.01, momentum: 0.9 })],
  ['AdamW fused', (p) => new AdamW(p, { lr: 0.01 })],
  ['AdamW reference', (p) => new AdamW(p, { lr: 0.01, fused: false })],
  ['AdamW8bit', (p) => new AdamW8bit(p, { lr: 0.01 })],
  ...(['keep', 'reset', 'project'] as const).flatMap((subspace_change): [string, BuildOptimizer][] => [
    [
      `GaLoreAdamW (${subspace_change})`,
      (p) => new GaLoreAdamW([{ params: p, ...REFRESHING, subspace_change }], { lr: 0.01, weight_decay: 0.1 }),
    ],
    [
      `GaLoreAdamW bf16 states (${subspace_change})`,
      (p) => new GaLoreAdamW([{ params: p, ...REFRESHING, subspace_change }], { lr: 0.01, state_dtype: 'bfloat16' }),
    ],
    [
      `GaLoreAdamW8bit (${subspace_change})`,
      (p) => new GaLoreAdamW8bit([{ params: p, ...REFRESHING, rank: 64, subspace_change }], { lr: 0.01 }),
    ],
    [
      `GaLoreAdamW8bit float states (${subspace_change})`,
      (p) => new GaLoreAdamW8bit([{ params: p, ...REFRESHING, subspace_change }], { lr: 0.01 }),
    ],
    [
      `GaLoreAdafactor (${subspace_change})`,
      (p) =>
        new GaLoreAdafactor([{ params: p, ...REFRESHING, subspace_change }], {
          lr: 0.01,
          relative_step: false,
          beta1: 0.9,
        }),
    ],
  ]),
];
