/**
 * A gradient holding NaN or Inf must leave the weights and every state tensor as they were, in
 * every optimizer, and the skipped update must be reported (issue 9, item 7). On a backend that
 * reads synchronously the update is skipped before it starts; on one that does not (WebGPU,
 * CUDA) it is undone on the device.
 */
import {
  CpuBackend,
  type HostArray,
  manualSeed,
  type Optimizer,
  randn,
  type SkippedUpdate,
  type Storage,
  type Tensor,
  tensor,
  tidy,
} from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { createOptimizer, GaLoreAdamW, LayerwiseUpdater } from '../src/index.js';
import { EVERY_OPTIMIZER, SHAPE } from './every-optimizer.js';
import { tinyLlama } from './helpers.js';

/** A CPU backend without synchronous reads: the situation of the GPU backends. */
class AsyncOnlyBackend extends CpuBackend {
  override async read(storage: Storage): Promise<HostArray> {
    return CpuBackend.prototype.readSync.call(this, storage);
  }
}
Object.defineProperty(AsyncOnlyBackend.prototype, 'readSync', { value: undefined });

/** The weights and every state tensor and number, read on any backend. */
async function everything(w: Tensor, optimizer: Optimizer): Promise<Record<string, unknown>> {
  const { tensors, json } = optimizer.stateDict();
  const out: Record<string, unknown> = { weight: Array.from(await w.data()), values: json.values };
  for (const [key, t] of Object.entries(tensors)) out[key] = Array.from(await t.data());
  return out;
}

/** A random gradient with one element set to `bad` (NaN or Inf), or none when `bad` is undefined. */
async function gradient(backend: CpuBackend, bad?: number): Promise<Tensor> {
  const random = randn(SHAPE, { backend });
  const data = Float32Array.from(await random.data());
  random.dispose();
  if (bad !== undefined) data[5] = bad;
  return tensor(data, { shape: SHAPE, backend });
}

/** The entries of `all` about parameter `index` and the weight. */
function ofParam(all: Record<string, unknown>, index: number): Record<string, unknown> {
  return Object.fromEntries(Object.entries(all).filter(([k]) => k === 'weight' || k.startsWith(`state.${index}.`)));
}

describe('a non-finite gradient leaves weights and state untouched', () => {
  it.each(EVERY_OPTIMIZER)('%s: skipped and reported (synchronous backend)', async (_name, build) => {
    manualSeed(5);
    const backend = new CpuBackend();
    const w = randn(SHAPE, { backend, requiresGrad: true });
    w.name = 'w';
    const optimizer = build([w]);
    const skipped: SkippedUpdate[] = [];
    optimizer.onSkippedUpdate = (s) => skipped.push(s);
    for (let i = 0; i < 2; i++) {
      w.grad = randn(SHAPE, { backend });
      expect(optimizer.step().skipped).toEqual([]);
    }
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const before = await everything(w, optimizer);
      w.grad = await gradient(backend, bad);
      const report = optimizer.step();
      expect(report.skipped).toEqual([{ param: 'w', reason: expect.stringMatching(/gradient holds NaN or Inf/) }]);
      expect(await everything(w, optimizer)).toEqual(before);
    }
    expect(skipped.map((s) => s.param)).toEqual(['w', 'w']);
    w.grad = randn(SHAPE, { backend });
    optimizer.step();
    expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true);
    optimizer.dispose();
  });

  it.each(EVERY_OPTIMIZER)('%s: undone on the device (backend without synchronous reads)', async (_name, build) => {
    manualSeed(6);
    const backend = new AsyncOnlyBackend();
    const w = randn(SHAPE, { backend, requiresGrad: true });
    const optimizer = build([w]);
    for (let i = 0; i < 2; i++) {
      w.grad = await gradient(backend);
      optimizer.step();
    }
    const { values: _counters, ...before } = await everything(w, optimizer);
    w.grad = await gradient(backend, Number.NaN);
    optimizer.step();
    const { values: _after, ...after } = await everything(w, optimizer);
    expect(after).toEqual(before);
    optimizer.dispose();
  });

  it('layerwise: the step of a parameter whose accumulated gradient is not finite is skipped and returned', async () => {
    manualSeed(7);
    const backend = new CpuBackend();
    const w = randn(SHAPE, { backend, requiresGrad: true });
    w.name = 'w';
    const v = randn(SHAPE, { backend, requiresGrad: true });
    v.name = 'v';
    // T = 4: step 2 accumulates w's micro-batch gradients projected, in R's shape.
    const optimizer = new GaLoreAdamW([{ params: [w], rank: 8, updateProjGap: 4 }, { params: [v] }], { lr: 0.01 });
    optimizer.onSkippedUpdate = () => {};
    const updater = new LayerwiseUpdater(optimizer, { accumulationSteps: 2 });
    const microBatch = (scaleW: number) => {
      const loss = tidy(() =>
        w
          .mul(randn(SHAPE, { backend }))
          .mul(scaleW)
          .sum()
          .add(v.mul(randn(SHAPE, { backend })).sum()),
      );
      const result = updater.backward(loss);
      loss.dispose();
      return result;
    };
    for (let i = 0; i < 4; i++) microBatch(1);
    const before = ofParam(await everything(w, optimizer), 0);
    const vBefore = Array.from(v.dataSync());
    expect(microBatch(Number.POSITIVE_INFINITY).stepped).toBe(false);
    const result = microBatch(1);
    expect(result).toMatchObject({ stepped: true, skipped: [{ param: 'w' }] });
    expect(ofParam(await everything(w, optimizer), 0)).toEqual(before);
    expect(Array.from(v.dataSync())).not.toEqual(vBefore);
    updater.dispose();
    optimizer.dispose();
  });

  it.each(['adamw', 'adamw_8bit', 'galore_adamw'])('createOptimizer(%s) passes hooks.onSkippedUpdate on', (name) => {
    const model = tinyLlama();
    const skipped: SkippedUpdate[] = [];
    const { optimizer } = createOptimizer(name, model.namedParameters(), {
      hooks: { onSkippedUpdate: (s) => skipped.push(s) },
    });
    const [embedding] = model.parameters();
    embedding!.grad = tensor(new Float32Array(embedding!.size).fill(Number.NaN), { shape: embedding!.shape });
    optimizer.step();
    expect(skipped.map((s) => s.param)).toEqual(['model.embed_tokens.weight']);
    optimizer.dispose();
  });
});
