import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  jaggedCosine,
  LoraModel,
  type MetricsRow,
  pruneByMagnitude,
  ReloraHook,
  resetOptimizerState,
  Trainer,
  tensor,
} from '../../src/index.js';
import { corpusDataset, microModel, withTempDir } from '../train/helpers.js';
import { values } from './helpers.js';

describe('jaggedCosine', () => {
  const schedule = jaggedCosine({ warmupSteps: 10, totalSteps: 100, restartEvery: 25, restartWarmupSteps: 5 });
  it('warms up, decays by cosine, and re-warms from 0 after each restart', () => {
    expect(schedule(0)).toBe(0);
    expect(schedule(5)).toBeCloseTo(0.5, 12);
    expect(schedule(10)).toBeCloseTo(1, 12);
    expect(schedule(24)).toBeLessThan(1);
    expect(schedule(25)).toBe(0);
    expect(schedule(27)).toBeLessThan(schedule(28));
    // The re-warmup ends on the cosine it left.
    expect(schedule(30)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * 20) / 90)), 12);
    expect(schedule(29)).toBeCloseTo((4 / 5) * schedule(30), 12);
    expect(schedule(100)).toBe(0);
    expect(schedule(99)).toBeGreaterThan(0.1 - 1e-12);
  });

  it('explains bad settings', () => {
    expect(() => jaggedCosine({ warmupSteps: 0, totalSteps: 10, restartEvery: 0 })).toThrow(
      /restartEvery must be a positive integer/,
    );
    expect(() => jaggedCosine({ warmupSteps: 0, totalSteps: 10, restartEvery: 4, restartWarmupSteps: 5 })).toThrow(
      /restartWarmupSteps \(5\) exceeds restartEvery \(4\)/,
    );
  });
});

describe('optimizer state at a restart', () => {
  it('magnitude pruning keeps the entries above the quantile (torch.quantile, linear)', async () => {
    const t = tensor(Float32Array.from({ length: 100 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1)));
    await pruneByMagnitude(t, 0.9);
    const kept = values(t).filter((v) => v !== 0);
    expect(kept.map(Math.abs).sort((a, b) => a - b)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    t.dispose();
  });
});

interface RunResult {
  rows: MetricsRow[];
  weights: number[][];
  hook: ReloraHook;
}

async function reloraRun(dir: string, options: { stopAfter: number; resume?: boolean }): Promise<RunResult> {
  const model = microModel(11);
  const adapted = LoraModel.inject(model, {
    r: 4,
    loraAlpha: 8,
    loraDropout: 0.1,
    modulesToSave: ['embed_tokens', 'norm', 'lm_head'],
  });
  const hook = new ReloraHook(adapted, { resetEvery: 4 });
  const data = await corpusDataset({ validation: 0 });
  const rows: MetricsRow[] = [];
  const trainer = new Trainer({
    model,
    optimizer: (named) =>
      new AdamW(
        named.map(([, p]) => p),
        { lr: 1e-2 },
      ),
    data,
    steps: 12,
    schedule: jaggedCosine({ warmupSteps: 2, totalSteps: 12, restartEvery: 4, restartWarmupSteps: 1 }),
    hooks: [hook],
    checkpoints: { dir, every: 6, keep: 0 },
    onMetrics: (row) => {
      rows.push(row);
    },
  });
  if (options.resume) await trainer.resume(dir);
  while (trainer.step < options.stopAfter) {
    await trainer.trainStep();
    if (trainer.step % 4 === 0) {
      // Right after a restart: the adapters start again at B = 0 and their moments are 99% zero.
      for (const { adapter } of adapted.layers) expect(values(adapter.loraB.weight).every((v) => v === 0)).toBe(true);
      const state = trainer.optimizer.stateDict().tensors;
      const params = (trainer.optimizer as AdamW).paramGroups.flatMap((g) => g.params);
      const adapterParams = new Set(adapted.adapterParameters().map(([, p]) => p));
      const indices = [...params.keys()].filter((i) => adapterParams.has(params[i]!));
      expect(indices).toHaveLength(adapterParams.size);
      for (const i of indices) {
        const v = values(state[`state.${i}.exp_avg`]!);
        expect(v.filter((x) => x !== 0).length).toBeLessThanOrEqual(Math.ceil(v.length * 0.01) + 1);
      }
    }
  }
  const weights = [...model.namedParameters()].map(([, p]) => values(p));
  trainer.dispose();
  model.dispose();
  await data.close();
  return { rows, weights, hook };
}

describe('ReloraHook in the Trainer', () => {
  it('merges and restarts every resetEvery steps, and resumes bit for bit', async () => {
    await withTempDir(async (dir) => {
      const straight = await reloraRun(join(dir, 'a'), { stopAfter: 12 });
      expect(straight.hook.restarts).toBe(3);
      const first = await reloraRun(join(dir, 'b'), { stopAfter: 6 });
      const second = await reloraRun(join(dir, 'b'), { stopAfter: 12, resume: true });
      const losses = (rows: MetricsRow[]) => rows.map((r) => [r.step, r.loss, r.lr]);
      expect(losses([...first.rows, ...second.rows])).toEqual(losses(straight.rows));
      expect(second.weights).toEqual(straight.weights);
    });
  });

  it('refuses 8-bit optimizer codes by name rather than pruning them wrongly', async () => {
    const model = microModel(1);
    const adapted = LoraModel.inject(model, { r: 2 });
    const p = adapted.adapterParameters()[0]![1];
    const fake = {
      paramGroups: [{ params: [p], options: { lr: 1 } }],
      stateDict: () => ({
        tensors: { 'state.0.exp_avg': tensor(new Uint8Array(p.size), { shape: p.shape, dtype: 'uint8' }) },
        json: { type: 'AdamW8bit', groups: [], values: {} },
      }),
    };
    await expect(resetOptimizerState(fake as never, [p], 'prune')).rejects.toThrow(
      /AdamW8bit keeps 'exp_avg' as uint8 codes, which cannot be pruned/,
    );
    model.dispose();
  });
});
