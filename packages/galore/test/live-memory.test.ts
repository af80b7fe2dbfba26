/**
 * Every optimizer, stepped across several subspace refreshes, holds the same live bytes after each
 * step once its state exists: nothing leaks per step or per refresh (issue 9, item 8).
 */
import { CpuBackend, manualSeed, randn, tidy } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { LayerwiseUpdater } from '../src/index.js';
import { EVERY_OPTIMIZER, SHAPE } from './every-optimizer.js';

describe('live bytes stay constant across steps and refreshes', () => {
  it.each(EVERY_OPTIMIZER)('%s', (_name, build) => {
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

  it.each(EVERY_OPTIMIZER.filter(([name]) => name.startsWith('GaLore')))(
    '%s, layerwise with accumulation',
    (_n, build) => {
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
    },
  );
});
