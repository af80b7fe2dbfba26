import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { trainLayerwise8bit } from '../../examples/galore-8bit-layerwise.js';

const EXCERPT = fileURLToPath(new URL('../../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));

describe('examples/galore-8bit-layerwise.ts', () => {
  it('steps per layer: gradients never all alive, a finite global gradient norm every step', async () => {
    const result = await trainLayerwise8bit({
      data: EXCERPT,
      steps: 3,
      batchSize: 2,
      seqLen: 32,
      rank: 8,
      updateProjGap: 2,
      svd: 'randomized',
      log: () => {},
    });
    expect(result.rows).toHaveLength(3);
    for (const row of result.rows) {
      expect(Number.isFinite(row.loss)).toBe(true);
      expect(row.grad_norm).toBeGreaterThan(0);
    }
    // At most one weight's gradient (plus the one autograd is producing) at a time.
    expect(result.peakGradientBytes).toBeLessThanOrEqual(2 * result.largestParameterBytes);
    expect(result.peakGradientBytes).toBeLessThan(result.allGradientBytes / 4);
  });

  it('accumulates micro-batches', async () => {
    const result = await trainLayerwise8bit({
      data: EXCERPT,
      steps: 2,
      batchSize: 1,
      seqLen: 16,
      rank: 8,
      accumulation: 2,
      svd: 'randomized',
      log: () => {},
    });
    expect(result.rows.map((r) => r.step)).toEqual([1, 2]);
  });
});
