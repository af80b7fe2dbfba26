import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pretrainGaLore } from '../../examples/pretrain-galore.js';

const EXCERPT = fileURLToPath(new URL('../../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));

describe('examples/pretrain-galore.ts', () => {
  it('trains a tiny LLaMA with GaLore for a few steps and lowers the loss', async () => {
    const lines: string[] = [];
    const result = await pretrainGaLore({
      data: EXCERPT,
      model: 'llama_tiny',
      steps: 4,
      batchSize: 2,
      seqLen: 32,
      rank: 8,
      updateProjGap: 2,
      svd: 'randomized',
      log: (line) => lines.push(line),
    });
    expect(result.steps).toBe(4);
    expect(result.projected).toHaveLength(6 * 7);
    expect(Number.isFinite(result.finalValLoss)).toBe(true);
    // From the uniform guess over 258 byte tokens (ln 258 = 5.55) downwards.
    expect(result.finalValLoss!).toBeLessThan(Math.log(258));
    expect(result.optimizerBytes).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('step 4'))).toBe(true);
  });
});
