import { describe, expect, it } from 'vitest';
import { planLlama7b } from '../../examples/memory-7b.js';

describe('examples/memory-7b.ts', () => {
  it('plans LLaMA 7B: 8-bit GaLore with per-layer updates at or under 22.0 GB, full-rank AdamW far above', () => {
    const [adamw, galore, galore8bitLayerwise] = planLlama7b(1, 256);
    expect(galore8bitLayerwise!.measured.total).toBeLessThanOrEqual(22.0e9);
    expect(galore!.measured.total).toBeLessThan(adamw!.measured.total);
    expect(adamw!.measured.total).toBeGreaterThan(58e9);
  });
});
