import { describe, expect, it } from 'vitest';
import { createMetaBackend, linear, randn, setBackend, siluMul, tidy, withCategory } from '../../../src/index.js';

describe('meta backend: dry-running core ops', () => {
  it('runs a LLaMA-7B MLP block forward and backward, counting parameters and gradients exactly', async () => {
    const meta = createMetaBackend();
    setBackend(meta);
    const hidden = 4096;
    const intermediate = 11008;
    const tokens = 2 * 2048;
    const weight = (rows: number, cols: number) =>
      withCategory('parameter', () => randn([rows, cols], { dtype: 'bfloat16', requiresGrad: true }));
    const gate = weight(intermediate, hidden);
    const up = weight(intermediate, hidden);
    const down = weight(hidden, intermediate);
    const paramBytes = 3 * intermediate * hidden * 2;
    expect(meta.tracker.snapshot().live.parameter).toBe(paramBytes);

    const loss = tidy(() => {
      const x = withCategory('activation', () => randn([tokens, hidden], { dtype: 'bfloat16' }));
      const y = linear(siluMul(linear(x, gate), linear(x, up)), down);
      return y.sum();
    });
    loss.backward();
    expect(await loss.item()).toBe(0); // meta tensors read as zeros

    const s = meta.tracker.snapshot();
    expect(s.live.parameter).toBe(paramBytes);
    expect(s.live.gradient).toBe(paramBytes);
    // The forward pass held at least the two [tokens, intermediate] bf16 projections at once.
    expect(s.peak.activation).toBeGreaterThanOrEqual(2 * tokens * intermediate * 2);
  });
});
