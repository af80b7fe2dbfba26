/**
 * Every optimizer, stepped across several subspace refreshes, holds the same live bytes after each
 * step once its state exists: nothing leaks per step or per refresh (issue 9, item 8).
 */
import { AdamW, CpuBackend, manualSeed, type Optimizer, randn, SGD, type Tensor, tidy } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { AdamW8bit, GaLoreAdafactor, GaLoreAdamW, GaLoreAdamW8bit, LayerwiseUpdater } from '../src/index.js';

// Big enough for 8-bit states (4096 elements at least), small enough to step fast.
const SHAPE = [96, 64];
const REFRESHING = { rank: 8, updateProjGap: 2 };

type Build = (params: Tensor[]) => Optimizer;

const optimizers: [string, Build][] = [
  ['SGD with momentum', (p) => new SGD(p, { lr: 0.01, momentum: 0.9 })],
  ['AdamW', (p) => new AdamW(p, { lr: 0.01 })],
  ['AdamW8bit', (p) => new AdamW8bit(p, { lr: 0.01 })],
  ...(['keep', 'reset', 'project'] as const).flatMap((subspaceChange): [string, Build][] => [
    [
      `GaLoreAdamW (${subspaceChange})`,
      (p) => new GaLoreAdamW([{ params: p, options: { ...REFRESHING, subspaceChange } }], { lr: 0.01 }),
    ],
    [
      `GaLoreAdamW bf16 states (${subspaceChange})`,
      (p) =>
        new GaLoreAdamW([{ params: p, options: { ...REFRESHING, subspaceChange } }], {
          lr: 0.01,
          stateDType: 'bfloat16',
        }),
    ],
    [
      `GaLoreAdamW8bit (${subspaceChange})`,
      (p) => new GaLoreAdamW8bit([{ params: p, options: { ...REFRESHING, rank: 64, subspaceChange } }], { lr: 0.01 }),
    ],
    [
      `GaLoreAdamW8bit float states (${subspaceChange})`,
      (p) => new GaLoreAdamW8bit([{ params: p, options: { ...REFRESHING, subspaceChange } }], { lr: 0.01 }),
    ],
    [
      `GaLoreAdafactor (${subspaceChange})`,
      (p) =>
        new GaLoreAdafactor([{ params: p, options: { ...REFRESHING, subspaceChange } }], {
          lr: 0.01,
          relativeStep: false,
          beta1: 0.9,
        }),
    ],
  ]),
];

describe('live bytes stay constant across steps and refreshes', () => {
  it.each(optimizers)('%s', (_name, build) => {
    manualSeed(3);
    const backend = new CpuBackend();
    const w = randn(SHAPE, { backend, requiresGrad: true });
    const optimizer = build([w]);
    const step = () => {
      w.grad = randn(SHAPE, { backend });
      optimizer.step();
      w.zeroGrad();
    };
    step();
    const settled = backend.tracker.snapshot().totalLive;
    for (let i = 0; i < 7; i++) {
      step();
      expect(backend.tracker.snapshot().totalLive, `after step ${i + 2}`).toBe(settled);
    }
    optimizer.dispose();
  });

  it.each(optimizers.filter(([name]) => name.startsWith('GaLore')))('%s, layerwise with accumulation', (_n, build) => {
    manualSeed(4);
    const backend = new CpuBackend();
    const w = randn(SHAPE, { backend, requiresGrad: true });
    const optimizer = build([w]);
    const updater = new LayerwiseUpdater(optimizer, { accumulationSteps: 2 });
    const microBatch = () => {
      const loss = tidy(() => w.mul(randn(SHAPE, { backend })).sum());
      updater.backward(loss);
      loss.dispose();
    };
    microBatch();
    microBatch();
    const settled = backend.tracker.snapshot().totalLive;
    for (let i = 0; i < 6; i++) {
      microBatch();
      microBatch();
      expect(backend.tracker.snapshot().totalLive, `after step ${i + 2}`).toBe(settled);
    }
    updater.dispose();
    optimizer.dispose();
  });
});
