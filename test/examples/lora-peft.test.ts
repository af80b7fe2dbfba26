import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { llamaPreset, readSafetensorsHeader } from '@galore-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loraPeft } from '../../examples/lora-peft.js';

const EXCERPT = fileURLToPath(new URL('../../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'example-lora-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('examples/lora-peft.ts', () => {
  it('trains only the adapters, saves a PEFT folder and a merged model with the same logits', async () => {
    const lines: string[] = [];
    const result = await loraPeft({
      data: EXCERPT,
      steps: 8,
      batchSize: 2,
      seqLen: 32,
      rank: 4,
      targetModules: ['q_proj', 'v_proj', 'down_proj'],
      lr: 2e-2,
      out,
      log: (line) => lines.push(line),
    });
    expect(result.steps).toBe(8);
    expect(result.finalValLoss!).toBeLessThan(result.initialValLoss);
    // q_proj, v_proj and down_proj in every decoder layer.
    const layers = llamaPreset('llama_tiny').num_hidden_layers;
    expect(result.adaptedLayers).toHaveLength(3 * layers);
    expect(result.trainableParams).toBeGreaterThan(0);
    expect(result.trainableParams).toBeLessThan(result.totalParams / 10);

    const config = JSON.parse(await readFile(join(result.adapterDir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, task_type: 'CAUSAL_LM' });
    expect(config.target_modules).toEqual(['down_proj', 'q_proj', 'v_proj']);
    const { tensors } = await readSafetensorsHeader(join(result.adapterDir, 'adapter_model.safetensors'));
    const keys = [...tensors.keys()].sort();
    expect(keys).toHaveLength(2 * 3 * layers);
    expect(keys).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(keys).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
    for (const key of keys) expect(key).toMatch(/^base_model\.model\.model\.layers\.\d+\.\w+\.\w+\.lora_[AB]\.weight$/);

    expect(existsSync(join(result.mergedDir, 'config.json'))).toBe(true);
    expect(existsSync(join(result.mergedDir, 'model.safetensors'))).toBe(true);
    expect(result.mergedMaxAbsDiff).toBeLessThan(1e-5);
    expect(lines.some((l) => l.includes('parameters train'))).toBe(true);
  });
});
