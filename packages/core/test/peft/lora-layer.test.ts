import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  getBackend,
  Linear,
  LoraLayer,
  LoraModel,
  linear,
  Module,
  manualSeed,
  noGrad,
  type Tensor,
  tensor,
} from '../../src/index.js';
import { gradcheck, prng, randomInputs } from '../helpers/gradcheck.js';
import { expectClose, values } from './helpers.js';

/** Runs `fn` with the adapter's factors replaced by `a` and `b` (leaves the check differentiates). */
function withFactors<T>(layer: LoraLayer, a: Tensor, b: Tensor, fn: () => T): T {
  const undoA = layer.loraA.replaceParameters(() => a);
  const undoB = layer.loraB.replaceParameters(() => b);
  try {
    return fn();
  } finally {
    undoA();
    undoB();
  }
}

describe('LoraLayer gradients (float64, central differences)', () => {
  it('LoRA: x, the base weight, A and B', () => {
    const layer = new LoraLayer(5, 4, { r: 2, alpha: 3, dtype: 'float64' });
    gradcheck(
      (x, w, a, b) => withFactors(layer, a!, b!, () => layer.forward(x!, linear(x!, w!))),
      randomInputs(prng(1), [
        [3, 5],
        [4, 5],
        [2, 5],
        [4, 2],
      ]),
      { label: 'lora' },
    );
    layer.loraA.dispose();
    layer.loraB.dispose();
  });

  it('low-rank (no base weight, rsLoRA scaling): x, A and B', () => {
    const layer = new LoraLayer(6, 3, { r: 3, alpha: 2, useRslora: true, factored: true, dtype: 'float64' });
    gradcheck(
      (x, a, b) => withFactors(layer, a!, b!, () => layer.forward(x!, undefined)),
      randomInputs(prng(2), [
        [2, 2, 6],
        [3, 6],
        [3, 3],
      ]),
      { label: 'low-rank' },
    );
    layer.loraA.dispose();
    layer.loraB.dispose();
  });
});

describe('LoraLayer initialisation', () => {
  it('starts with B = 0 (the adapted layer equals the base) and A Kaiming-uniform', () => {
    manualSeed(3);
    const layer = new LoraLayer(64, 8, { r: 4, alpha: 8 });
    expect(values(layer.loraB.weight).every((v) => v === 0)).toBe(true);
    const a = values(layer.loraA.weight);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.1);
    expect(layer.scaling).toBe(2);
    const low = new LoraLayer(64, 8, { r: 4, alpha: 8, factored: true });
    // Both factors random: B's fan-in is r.
    expect(Math.max(...values(low.loraB.weight).map(Math.abs))).toBeGreaterThan(0.25);
    for (const l of [layer, low]) {
      l.loraA.dispose();
      l.loraB.dispose();
    }
  });
});

class TwoLayers extends Module {
  readonly first: Linear;
  readonly second: Linear;
  constructor(width: number) {
    super();
    this.first = this.registerModule('first', new Linear(width, width, { dtype: 'float64', initStd: 0.5 }));
    this.second = this.registerModule('second', new Linear(width, 3, { dtype: 'float64', initStd: 0.5 }));
  }
  forward(x: Tensor): Tensor {
    return this.second.forward(this.first.forward(x));
  }
}

describe('merge and unmerge', () => {
  it('a merged model computes what the unmerged one does, and unmerge restores the weights', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0.5, max: 32, noNaN: true }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (width, r, alpha, rslora, seed) => {
          manualSeed(seed);
          const model = new TwoLayers(width);
          const adapted = LoraModel.inject(model, {
            r,
            loraAlpha: alpha,
            useRslora: rslora,
            targetModules: ['first', 'second'],
          });
          // B is zero at the start; give it values so merging matters.
          for (const { adapter } of adapted.layers) {
            const b = adapter.loraB.weight;
            getBackend().write(
              b.storage,
              Float64Array.from({ length: b.size }, (_, i) => Math.sin(seed + i)),
            );
          }
          const x = tensor(
            Float64Array.from({ length: 2 * width }, (_, i) => Math.cos(i + seed)),
            {
              shape: [2, width],
              dtype: 'float64',
            },
          );
          const before = values(model.first.weight);
          const unmerged = noGrad(() => model.forward(x));
          adapted.merge();
          expect(adapted.merged).toBe(true);
          const merged = noGrad(() => model.forward(x));
          adapted.unmerge();
          const after = values(model.first.weight);
          expectClose(values(merged), values(unmerged));
          expectClose(after, before);
          for (const t of [x, unmerged, merged]) t.dispose();
          model.dispose();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('mergeAndReinit folds the update into the weight and restarts the adapters at B = 0', () => {
    manualSeed(5);
    const model = new TwoLayers(4);
    const adapted = LoraModel.inject(model, { r: 2, targetModules: ['first'] });
    const { adapter } = adapted.layers[0]!;
    getBackend().write(
      adapter.loraB.weight.storage,
      Float64Array.from({ length: 8 }, (_, i) => i / 8),
    );
    const x = tensor(
      Float64Array.from({ length: 8 }, (_, i) => i - 3),
      { shape: [2, 4], dtype: 'float64' },
    );
    const y0 = values(noGrad(() => model.forward(x)));
    const a0 = values(adapter.loraA.weight);
    adapted.mergeAndReinit();
    expect(adapted.merged).toBe(false);
    expect(values(adapter.loraB.weight).every((v) => v === 0)).toBe(true);
    expect(values(adapter.loraA.weight)).not.toEqual(a0);
    expectClose(values(noGrad(() => model.forward(x))), y0);
    model.dispose();
  });

  it('refuses to merge a low-rank model (there is no base weight)', () => {
    const model = new TwoLayers(4);
    const adapted = LoraModel.inject(model, { r: 2, targetModules: ['first'] }, 'low_rank');
    expect(() => adapted.merge()).toThrow(/low-rank model has no base weight/);
    expect(model.first.hasWeight).toBe(false);
    model.dispose();
  });
});
