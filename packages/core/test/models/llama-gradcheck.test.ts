import { describe, expect, it } from 'vitest';
import { getBackend, manualSeed, mul, noGrad, randn, sum, type Tensor, tidy } from '../../src/index.js';
import { LlamaDecoderLayer, llamaConfig, ropeTables } from '../../src/models/index.js';

/**
 * One decoder layer (GQA: 4 query heads, 2 kv heads) in float64: the analytic gradient of
 * L = sum(layer(x) * R) for the input and every parameter against central finite differences.
 */
describe('LlamaDecoderLayer gradient', () => {
  it('matches central finite differences in float64', () => {
    manualSeed(21);
    const config = llamaConfig({
      vocab_size: 8,
      hidden_size: 8,
      intermediate_size: 12,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      num_hidden_layers: 1,
      rope_theta: 100,
      initializer_range: 0.5, // large weights so every path contributes visibly
    });
    const layer = new LlamaDecoderLayer(config, { dtype: 'float64' });
    // Norm weights away from 1 so their gradients are not a special case.
    for (const [name, p] of layer.namedParameters()) {
      if (name.endsWith('layernorm.weight'))
        getBackend().write(
          p.storage,
          Float64Array.from({ length: p.size }, (_, i) => 0.5 + 0.1 * i),
        );
    }
    const [batch, seq] = [2, 3];
    const tables = ropeTables(getBackend(), { headDim: 2, seqLen: seq, theta: 100, dtype: 'float64' });
    const x = randn([batch, seq, 8], { dtype: 'float64', requiresGrad: true });
    const r = randn([batch, seq, 8], { dtype: 'float64' });
    const objective = (): Tensor => sum(mul(layer.forward(x, { tables }), r));

    tidy(() => objective().backward());
    const leaves: [string, Tensor][] = [['input', x], ...layer.namedParameters()];
    const h = 1e-6;
    let checked = 0;
    for (const [name, leaf] of leaves) {
      const analytic = leaf.grad!.dataSync();
      const values = Float64Array.from(leaf.dataSync());
      // Every input element; a spread of elements of each parameter (all of the small ones).
      const stride = Math.max(1, Math.floor(values.length / 12));
      for (let i = 0; i < values.length; i += stride) {
        const at = (delta: number): number => {
          const moved = Float64Array.from(values);
          moved[i] = values[i]! + delta;
          getBackend().write(leaf.storage, moved);
          return noGrad(() => tidy(() => objective().itemSync()));
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        getBackend().write(leaf.storage, values);
        const scale = Math.max(1, Math.abs(numeric));
        expect(
          Math.abs(analytic[i]! - numeric) / scale,
          `${name}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`,
        ).toBeLessThan(1e-6);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    layer.dispose();
  });
});
