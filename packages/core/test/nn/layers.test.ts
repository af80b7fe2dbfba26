import { describe, expect, it } from 'vitest';
import { manualSeed, tensor } from '../../src/index.js';
import { Embedding, LayerNorm, Linear, RMSNorm } from '../../src/nn/index.js';

describe('Linear', () => {
  it('computes x W^T + b with W stored [out, in]', () => {
    const layer = new Linear(3, 2, { bias: true });
    layer.loadStateDict({
      weight: tensor([
        [1, 2, 3],
        [-1, 0, 4],
      ]),
      bias: tensor([0.5, -2]),
    });
    const y = layer.forward(
      tensor([
        [1, 1, 1],
        [2, 0, -1],
      ]),
    );
    // Row 1: [1+2+3+0.5, -1+0+4-2] ; row 2: [2-3+0.5, -2-4-2].
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.dataSync())).toEqual([6.5, 1, -0.5, -8]);
    layer.dispose();
  });

  it('has no bias by default and draws weights from normal(0, 0.02)', () => {
    manualSeed(0);
    const layer = new Linear(128, 128);
    expect(layer.bias).toBeUndefined();
    const w = Array.from(layer.weight.dataSync());
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    layer.dispose();
  });

  it('explains bad sizes and inputs', () => {
    expect(() => new Linear(0, 2)).toThrow('Linear: inFeatures must be a positive integer, got 0');
    expect(() => new Linear(2, 3, { tiedWeight: tensor([[1, 2]]) })).toThrow(
      'Linear: tiedWeight must have shape [3, 2], got [1, 2]',
    );
    const layer = new Linear(2, 3);
    expect(() => layer.forward(tensor([[1, 2, 3]]))).toThrow(/input features differ/);
    layer.dispose();
  });
});

describe('Embedding', () => {
  it('gathers rows of its table for int32 ids of any shape', () => {
    const emb = new Embedding(4, 2);
    emb.loadStateDict({
      weight: tensor([
        [0, 1],
        [10, 11],
        [20, 21],
        [30, 31],
      ]),
    });
    const out = emb.forward(
      tensor(
        [
          [3, 0],
          [1, 1],
        ],
        { dtype: 'int32' },
      ),
    );
    expect(out.shape).toEqual([2, 2, 2]);
    expect(Array.from(out.dataSync())).toEqual([30, 31, 0, 1, 10, 11, 10, 11]);
    emb.dispose();
  });
});

describe('RMSNorm', () => {
  it('starts at ones and computes x / sqrt(mean(x^2) + eps) * weight', () => {
    const norm = new RMSNorm(2, { eps: 1e-6, dtype: 'float64' });
    expect(Array.from(norm.weight.dataSync())).toEqual([1, 1]);
    norm.loadStateDict({ weight: tensor([2, 0.5], { dtype: 'float64' }) });
    const y = norm.forward(tensor([[3, 4]], { dtype: 'float64' })).dataSync();
    const rms = Math.sqrt((9 + 16) / 2 + 1e-6);
    expect(y[0]).toBeCloseTo((3 / rms) * 2, 12);
    expect(y[1]).toBeCloseTo((4 / rms) * 0.5, 12);
    expect(() => new RMSNorm(4, { eps: 0 })).toThrow('RMSNorm: eps must be > 0, got 0');
    norm.dispose();
  });
});

describe('LayerNorm', () => {
  it('starts at weight ones and bias zeros, computes (x - mean) / sqrt(var + eps) * weight + bias', () => {
    const norm = new LayerNorm(2, { eps: 1e-6, dtype: 'float64' });
    expect(norm.eps).toBe(1e-6);
    expect(new LayerNorm(3).eps).toBe(1e-5); // PyTorch's default
    expect(Object.keys(norm.stateDict())).toEqual(['weight', 'bias']);
    expect(Array.from(norm.weight.dataSync())).toEqual([1, 1]);
    expect(Array.from(norm.bias.dataSync())).toEqual([0, 0]);
    norm.loadStateDict({ weight: tensor([2, 0.5], { dtype: 'float64' }), bias: tensor([1, -1], { dtype: 'float64' }) });
    // mean 3.5, variance 0.25.
    const y = norm.forward(tensor([[3, 4]], { dtype: 'float64' })).dataSync();
    const inv = 1 / Math.sqrt(0.25 + 1e-6);
    expect(y[0]).toBeCloseTo(-0.5 * inv * 2 + 1, 12);
    expect(y[1]).toBeCloseTo(0.5 * inv * 0.5 - 1, 12);
    expect(() => new LayerNorm(4, { eps: 0 })).toThrow('LayerNorm: eps must be > 0, got 0');
    expect(() => new LayerNorm(0)).toThrow(/LayerNorm: dim/);
    norm.dispose();
  });
});
