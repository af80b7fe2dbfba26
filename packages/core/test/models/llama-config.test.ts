import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LLAMA_PRESET_NAMES, llamaConfig, llamaPreset, readConfig, writeConfig } from '../../src/models/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

const SIZES = {
  vocab_size: 100,
  hidden_size: 64,
  intermediate_size: 128,
  num_attention_heads: 4,
  num_hidden_layers: 2,
};

const tmp = useTempDir('llama-config-');

describe('llamaConfig', () => {
  it("fills transformers' defaults for optional fields", () => {
    const c = llamaConfig(SIZES);
    expect(c).toMatchObject({
      model_type: 'llama',
      num_key_value_heads: 4,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      initializer_range: 0.02,
      hidden_act: 'silu',
    });
  });

  it('names every missing required size', () => {
    expect(() => llamaConfig({ hidden_size: 64 })).toThrow(
      /missing required field\(s\) vocab_size, intermediate_size, num_hidden_layers, num_attention_heads/,
    );
  });

  it('rejects sizes that do not divide, with the numbers in the message', () => {
    expect(() => llamaConfig({ ...SIZES, num_attention_heads: 5 })).toThrow(
      /hidden_size 64 is not divisible by num_attention_heads 5/,
    );
    expect(() => llamaConfig({ ...SIZES, num_key_value_heads: 3 })).toThrow(
      /num_attention_heads 4 is not divisible by num_key_value_heads 3/,
    );
    expect(() => llamaConfig({ ...SIZES, hidden_size: 12, num_attention_heads: 4 })).toThrow(
      /head dimension .* = 3 must be even/,
    );
    expect(() => llamaConfig({ ...SIZES, num_hidden_layers: 0, rms_norm_eps: -1 })).toThrow(
      /num_hidden_layers must be a positive integer, got 0; rms_norm_eps must be a positive number, got -1/,
    );
  });

  it('refuses features it does not implement instead of ignoring them', () => {
    expect(() => llamaConfig({ ...SIZES, hidden_act: 'gelu' })).toThrow(/hidden_act "gelu" \(only "silu"\)/);
    expect(() => llamaConfig({ ...SIZES, rope_scaling: { type: 'dynamic', factor: 2 } })).toThrow(
      /rope_scaling\.rope_type "dynamic"/,
    );
    expect(() => llamaConfig({ ...SIZES, rope_parameters: { rope_type: 'yarn', factor: 2, rope_theta: 1e4 } })).toThrow(
      /rope_parameters\.rope_type "yarn"/,
    );
    expect(() => llamaConfig({ ...SIZES, model_type: 'gemma' })).toThrow(
      /model_type "gemma" \(expected one of llama, mistral, qwen2\)/,
    );
    expect(() => llamaConfig({ ...SIZES, model_type: 'mistral', attention_bias: true })).toThrow(
      /attention_bias: true \(MistralForCausalLM has no such option\)/,
    );
    expect(() => llamaConfig({ ...SIZES, model_type: 'qwen2', use_sliding_window: true })).toThrow(
      /use_sliding_window/,
    );
    expect(() => llamaConfig({ ...SIZES, partial_rotary_factor: 0.5, attention_dropout: 0.1 })).toThrow(
      /attention_dropout 0\.1 \(only 0\); partial_rotary_factor 0\.5/,
    );
    expect(() => llamaConfig({ ...SIZES, layer_types: ['sliding_attention'] })).toThrow(/layer_types/);
  });

  it('reads GaLore-style configs (max_sequence_length, LLaMAForCausalLM) as transformers does', () => {
    const galore60m = {
      architectures: ['LLaMAForCausalLM'],
      bos_token_id: 0,
      eos_token_id: 1,
      hidden_act: 'silu',
      hidden_size: 512,
      intermediate_size: 1376,
      initializer_range: 0.02,
      max_sequence_length: 1024,
      model_type: 'llama',
      num_attention_heads: 8,
      num_hidden_layers: 8,
      pad_token_id: -1,
      rms_norm_eps: 1e-6,
      transformers_version: '4.28.1',
      use_cache: true,
      vocab_size: 32000,
    };
    const c = llamaConfig(galore60m);
    expect(c.max_position_embeddings).toBe(1024);
    expect(c.pad_token_id).toBe(-1);
    expect(c).toEqual(llamaPreset('llama_60m', { architectures: ['LLaMAForCausalLM'], pad_token_id: -1 }));
  });
});

describe('readConfig / writeConfig', () => {
  it('round-trips a config through config.json with model_type and architectures', async () => {
    const path = join(tmp.path, 'config.json');
    const config = llamaConfig({
      ...SIZES,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      eos_token_id: [1, 2],
    });
    await writeConfig(path, config);
    const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(json.model_type).toBe('llama');
    expect(json.architectures).toEqual(['LlamaForCausalLM']);
    expect(json.torch_dtype).toBe('bfloat16');
    expect(await readConfig(path)).toEqual({ ...config, architectures: ['LlamaForCausalLM'] });
  });

  it('names the file in read errors', async () => {
    const bad = join(tmp.path, 'bad.json');
    await writeFile(bad, '{"hidden_size": 64,');
    await expect(readConfig(bad)).rejects.toThrow(/bad\.json is not valid JSON/);
    await expect(readConfig(join(tmp.path, 'absent.json'))).rejects.toThrow(/cannot read .*absent\.json/);
    const wrong = join(tmp.path, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ ...SIZES, num_attention_heads: 3 }));
    await expect(readConfig(wrong)).rejects.toThrow(/wrong\.json.*not divisible by num_attention_heads 3/);
  });
});

describe('presets', () => {
  it("have the GaLore paper's sizes (official configs/llama_*.json)", () => {
    const sizes = (name: string) => {
      const c = llamaPreset(name);
      return [
        c.hidden_size,
        c.intermediate_size,
        c.num_attention_heads,
        c.num_hidden_layers,
        c.vocab_size,
        c.max_position_embeddings,
      ];
    };
    expect(sizes('llama_60m')).toEqual([512, 1376, 8, 8, 32000, 1024]);
    expect(sizes('llama_130m')).toEqual([768, 2048, 12, 12, 32000, 1024]);
    expect(sizes('llama_350m')).toEqual([1024, 2736, 16, 24, 32000, 1024]);
    expect(sizes('llama_1b')).toEqual([2048, 5461, 32, 24, 32000, 1024]);
    expect(sizes('llama_7b')).toEqual([4096, 11008, 32, 32, 32000, 2048]);
    expect(llamaPreset('llama_tiny').vocab_size).toBe(258);
  });

  it('applies overrides and validates them', () => {
    expect(llamaPreset('llama_tiny', { num_hidden_layers: 2 }).num_hidden_layers).toBe(2);
    expect(() => llamaPreset('llama_tiny', { num_attention_heads: 3 })).toThrow(/not divisible/);
  });

  it('lists the known names for an unknown one', () => {
    expect(() => llamaPreset('llama_3b')).toThrow(
      `unknown preset 'llama_3b'; expected one of ${LLAMA_PRESET_NAMES.join(', ')}`,
    );
    expect(LLAMA_PRESET_NAMES).toEqual([
      'llama_tiny',
      'llama_small',
      'llama_60m',
      'llama_130m',
      'llama_350m',
      'llama_1b',
      'llama_7b',
    ]);
  });
});
