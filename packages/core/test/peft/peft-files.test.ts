import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fromPeftConfig,
  getBackend,
  LoraModel,
  loadAdapter,
  noGrad,
  readSafetensorsHeader,
  saveAdapter,
  tensor,
} from '../../src/index.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { expectClose, tinyModel, values } from './helpers.js';

const tmp = useTempDir('peft-', { each: true });

/** What PEFT 0.13 writes for LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]). */
const PEFT_WRITTEN = {
  alpha_pattern: {},
  auto_mapping: null,
  base_model_name_or_path: 'meta-llama/Llama-3.2-1B',
  bias: 'none',
  fan_in_fan_out: false,
  inference_mode: true,
  init_lora_weights: true,
  layer_replication: null,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 16,
  lora_dropout: 0.05,
  megatron_config: null,
  megatron_core: 'megatron.core',
  modules_to_save: null,
  peft_type: 'LORA',
  r: 8,
  rank_pattern: {},
  revision: null,
  target_modules: ['v_proj', 'q_proj'],
  task_type: 'CAUSAL_LM',
  use_dora: false,
  use_rslora: false,
};

describe('PEFT adapter files', () => {
  it('round-trips: PEFT key names and shapes, config keys, and the same outputs after loading', async () => {
    const model = tinyModel({}, 7);
    const adapted = LoraModel.inject(model, {
      r: 4,
      loraAlpha: 8,
      loraDropout: 0.1,
      targetModules: ['q_proj', 'v_proj'],
      modulesToSave: ['lm_head'],
      baseModelNameOrPath: 'runs/tiny',
    });
    for (const { adapter } of adapted.layers) {
      const b = adapter.loraB.weight;
      getBackend().write(
        b.storage,
        Float32Array.from({ length: b.size }, (_, i) => Math.sin(i) / 4),
      );
    }
    await saveAdapter(adapted, tmp.path);

    const header = await readSafetensorsHeader(join(tmp.path, 'adapter_model.safetensors'));
    const keys = [...header.tensors.keys()].sort();
    expect(keys).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(keys).toContain('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
    expect(keys).toContain('base_model.model.lm_head.weight');
    expect(keys).toHaveLength(2 * 2 * 2 + 1);
    expect(header.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([
      4, 16,
    ]);
    expect(header.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!.shape).toEqual([
      16, 4,
    ]);
    expect(header.metadata).toEqual({ format: 'pt' });
    const config = JSON.parse(await readFile(join(tmp.path, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.1,
      bias: 'none',
      target_modules: ['q_proj', 'v_proj'],
      modules_to_save: ['lm_head'],
      base_model_name_or_path: 'runs/tiny',
      use_rslora: false,
      use_dora: false,
    });

    const ids = tensor([[1, 2, 3, 4, 5]], { dtype: 'int32' });
    model.eval(); // no dropout
    const expected = values(noGrad(() => model.forward(ids).logits));
    const fresh = tinyModel({}, 7);
    const loaded = await loadAdapter(fresh, tmp.path);
    expect(loaded.config.r).toBe(4);
    expect(loaded.layers.map((l) => l.name)).toEqual(adapted.layers.map((l) => l.name));
    fresh.eval();
    expectClose(values(noGrad(() => fresh.forward(ids).logits)), expected, 6);
    model.dispose();
    fresh.dispose();
  });

  it('reads the adapter_config.json PEFT writes, and refuses what changes the maths by name', async () => {
    const config = fromPeftConfig(PEFT_WRITTEN);
    expect(config).toMatchObject({ r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['v_proj', 'q_proj'] });
    expect(() => fromPeftConfig({ ...PEFT_WRITTEN, use_dora: true })).toThrow(/not supported: use_dora=true/);
    expect(() => fromPeftConfig({ ...PEFT_WRITTEN, bias: 'all', rank_pattern: { q_proj: 4 } })).toThrow(
      /bias="all", rank_pattern=\{"q_proj":4\}/,
    );
    expect(() => fromPeftConfig({ ...PEFT_WRITTEN, peft_type: 'IA3' })).toThrow(/peft_type "IA3" is not supported/);
    // all-linear is saved as the list of the layers it matched.
    const model = tinyModel();
    const adapted = LoraModel.inject(model, { r: 2 });
    await saveAdapter(adapted, tmp.path);
    const saved = JSON.parse(await readFile(join(tmp.path, 'adapter_config.json'), 'utf8'));
    expect(saved.target_modules).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const factored = tinyModel();
    await expect(saveAdapter(LoraModel.inject(factored, { r: 2 }, 'low_rank'), tmp.path)).rejects.toThrow(
      /low_rank model is not a PEFT adapter/,
    );
    factored.dispose();
    model.dispose();
  });
});
