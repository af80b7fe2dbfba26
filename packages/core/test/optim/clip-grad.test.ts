import { describe, expect, it } from 'vitest';
import { getBackend, tensor } from '../../src/index.js';
import { clipGradNorm, clipGradNormSync, clipGradNormTensor } from '../../src/optim/index.js';
import { param, setGrad, values } from './helpers.js';

describe('clipGradNorm', () => {
  it('scales every gradient by maxNorm / (total + 1e-6) when the global norm is above maxNorm', () => {
    // Global L2 norm of (3, 4) and (12): sqrt(9 + 16 + 144) = 13.
    const a = param([0, 0]);
    const b = param([0]);
    setGrad(a, [3, 4]);
    setGrad(b, [12]);
    const total = clipGradNormSync([a, b], 1);
    expect(total).toBeCloseTo(13, 12);
    const c = 1 / (13 + 1e-6);
    expect(values(a.grad!)[0]).toBeCloseTo(3 * c, 14);
    expect(values(a.grad!)[1]).toBeCloseTo(4 * c, 14);
    expect(values(b.grad!)[0]).toBeCloseTo(12 * c, 14);
  });

  it('leaves gradients untouched at or below maxNorm', () => {
    const a = param([0, 0], [2], 'float32');
    setGrad(a, [3, 4]);
    expect(clipGradNormSync([a], 5)).toBe(5);
    expect(values(a.grad!)).toEqual([3, 4]);
    expect(clipGradNormSync([a], 100)).toBe(5);
    expect(values(a.grad!)).toEqual([3, 4]);
  });

  it('the async form returns the same norm', async () => {
    const a = param([0, 0]);
    setGrad(a, [6, 8]);
    expect(await clipGradNorm([a], 5)).toBeCloseTo(10, 12);
    expect(values(a.grad!)[0]).toBeCloseTo((6 * 5) / (10 + 1e-6), 12);
  });

  it('returns a non-finite norm and does not scale', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const a = param([0, 0]);
      const b = param([0]);
      setGrad(a, [3, bad]);
      setGrad(b, [12]);
      const total = clipGradNormSync([a, b], 1);
      expect(Number.isFinite(total)).toBe(false);
      if (Number.isNaN(bad)) expect(total).toBeNaN();
      else expect(total).toBe(Number.POSITIVE_INFINITY);
      expect(values(b.grad!)).toEqual([12]);
      expect(values(a.grad!)[0]).toBe(3);
    }
  });

  it('supports the infinity norm and the 1-norm', () => {
    const a = param([0, 0]);
    const b = param([0]);
    setGrad(a, [3, -4]);
    setGrad(b, [2]);
    expect(clipGradNormSync([a, b], 100, Number.POSITIVE_INFINITY)).toBe(4);
    expect(clipGradNormSync([a, b], 100, 1)).toBeCloseTo(9, 12);
    expect(clipGradNormSync([a, b], 4.5, 1)).toBeCloseTo(9, 12);
    expect(values(a.grad!)[1]).toBeCloseTo((-4 * 4.5) / (9 + 1e-6), 12);
  });

  it('skips parameters without gradients; with none the norm is 0', () => {
    const a = param([1]);
    const b = param([1]);
    expect(clipGradNormSync([a, b], 1)).toBe(0);
    setGrad(b, [2]);
    expect(clipGradNormSync([a, b], 1)).toBeCloseTo(2, 12);
    expect(a.grad).toBeNull();
  });

  it('counts a parameter listed twice once', () => {
    const a = param([0]);
    setGrad(a, [4]);
    expect(clipGradNormSync([a, a], 2)).toBeCloseTo(4, 12);
    expect(values(a.grad!)[0]).toBeCloseTo(8 / (4 + 1e-6), 12);
  });

  it('keeps 16-bit gradients in their dtype', () => {
    const a = param([0, 0], [2], 'bfloat16');
    setGrad(a, [3, 4]);
    expect(clipGradNormSync(a, 2.5)).toBe(5);
    expect(a.grad!.dtype).toBe('bfloat16');
    expect(values(a.grad!)).toEqual([1.5, 2]);
  });

  it('scales gradients that autograd made share a storage exactly once each', () => {
    const a = param([1, 2]);
    const b = param([3, 4]);
    a.add(b).sum().backward(); // both gradients are ones, possibly one storage
    const total = clipGradNormSync([a, b], 1);
    expect(total).toBeCloseTo(2, 12);
    const c = 1 / (2 + 1e-6);
    for (const g of [a.grad!, b.grad!]) for (const x of values(g)) expect(x).toBeCloseTo(c, 12);
  });

  it('frees what it allocates and keeps gradients counted as gradient memory', () => {
    const tracker = getBackend().tracker;
    const a = param([0, 0], [2], 'float32');
    a.grad = tensor([30, 40]);
    getBackend().retag(a.grad.storage, 'gradient');
    const before = tracker.snapshot();
    clipGradNormSync([a], 1);
    const after = tracker.snapshot();
    expect(after.liveAllocations).toBe(before.liveAllocations);
    expect(after.live.gradient).toBe(before.live.gradient);
    const t = clipGradNormTensor([a], 1);
    expect(t.shape).toEqual([]);
    t.dispose();
    expect(tracker.snapshot().liveAllocations).toBe(before.liveAllocations);
  });

  it('rejects a negative maxNorm and a non-positive normType', () => {
    const a = param([0]);
    setGrad(a, [1]);
    expect(() => clipGradNormSync([a], -1)).toThrow(/maxNorm must be a number >= 0, got -1/);
    expect(() => clipGradNormSync([a], 1, 0)).toThrow(/normType must be a number > 0 or Infinity, got 0/);
  });
});
