import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetaBackend, getBackend, manualSeed, noGrad, tensor } from '../../src/index.js';
import { readSafetensorsHeader } from '../../src/io/index.js';
import {
  AutoModelForCausalLM,
  generate,
  KVCache,
  LlamaForCausalLM,
  llamaConfig,
  MistralForCausalLM,
  Qwen2ForCausalLM,
} from '../../src/models/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

/** The config.json files of the checkpoints, as published (transformers 4 spelling). */
const LLAMA_3_2_1B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 128256,
};
const QWEN2_5_0_5B = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const MISTRAL_7B_V0_1 = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 32000,
};

const SMALL = {
  vocab_size: 17,
  hidden_size: 8,
  intermediate_size: 12,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  num_hidden_layers: 2,
  max_position_embeddings: 8,
};

const tmp = useTempDir('auto-model-');

describe('published configs', () => {
  it.each([
    ['Llama 3.2 1B', LLAMA_3_2_1B, 1_235_814_400],
    ['Qwen2.5 0.5B', QWEN2_5_0_5B, 494_032_768],
    ['Mistral 7B v0.1', MISTRAL_7B_V0_1, 7_241_732_096],
  ])('%s builds with its published parameter count', (_, json, count) => {
    const model = AutoModelForCausalLM.fromConfig(json, { backend: createMetaBackend() });
    expect(model.numParameters()).toBe(count);
    expect(model.config.model_type).toBe(json.model_type);
  });

  it("reads transformers 5's rope_parameters as the same settings as rope_scaling + rope_theta", () => {
    const { rope_scaling, rope_theta, ...rest } = LLAMA_3_2_1B;
    const v5 = llamaConfig({ ...rest, rope_parameters: { ...rope_scaling, rope_theta } });
    expect(v5).toEqual(llamaConfig(LLAMA_3_2_1B));
    expect(v5.rope_scaling).toEqual({ ...rope_scaling });
    expect(llamaConfig(MISTRAL_7B_V0_1).sliding_window).toBe(4096);
    expect(llamaConfig({ ...MISTRAL_7B_V0_1, sliding_window: undefined }).sliding_window).toBe(4096);
    expect(llamaConfig({ ...MISTRAL_7B_V0_1, sliding_window: null }).sliding_window).toBeNull();
  });

  it('dispatches on architectures when model_type is absent', () => {
    const { model_type: _, ...untyped } = QWEN2_5_0_5B;
    expect(llamaConfig(untyped).model_type).toBe('qwen2');
  });
});

describe('family classes', () => {
  it('fill model_type and refuse a config of another family', () => {
    expect(new Qwen2ForCausalLM(SMALL).config.model_type).toBe('qwen2');
    const mistral = new MistralForCausalLM(SMALL);
    expect(mistral.config).toMatchObject({ model_type: 'mistral', sliding_window: 4096 });
    expect(() => new MistralForCausalLM({ ...SMALL, model_type: 'qwen2' })).toThrow(
      /MistralForCausalLM: the config is for model_type "qwen2"/,
    );
  });

  it('give Qwen2 biases on q/k/v only', () => {
    const names = [...new Qwen2ForCausalLM({ ...SMALL, num_hidden_layers: 1 }).namedParameters()].map(([n]) => n);
    expect(names.filter((n) => n.endsWith('.bias'))).toEqual([
      'model.layers.0.self_attn.q_proj.bias',
      'model.layers.0.self_attn.k_proj.bias',
      'model.layers.0.self_attn.v_proj.bias',
    ]);
  });
});

describe('AutoModelForCausalLM.fromPretrained / savePretrained', () => {
  it.each(['llama', 'mistral', 'qwen2'])(
    'round-trips a %s folder, sharded, with the index transformers reads',
    async (type) => {
      manualSeed(11);
      const model = AutoModelForCausalLM.fromConfig({ ...SMALL, model_type: type });
      const dir = join(tmp.path, `sharded-${type}`);
      await model.savePretrained(dir, { maxShardBytes: 1000 });
      const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
      const files = [...new Set(Object.values(index.weight_map as Record<string, string>))];
      expect(files.length).toBeGreaterThan(2);
      expect(files[0]).toBe(`model-00001-of-${String(files.length).padStart(5, '0')}.safetensors`);
      const params = [...model.namedParameters()];
      expect(Object.keys(index.weight_map).sort()).toEqual(params.map(([n]) => n).sort());
      expect(index.metadata.total_size).toBe(params.reduce((n, [, p]) => n + p.size * 4, 0));
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      expect(config.architectures).toEqual([
        model.config.model_type === 'llama'
          ? 'LlamaForCausalLM'
          : type === 'mistral'
            ? 'MistralForCausalLM'
            : 'Qwen2ForCausalLM',
      ]);

      const loaded = await AutoModelForCausalLM.fromPretrained(dir);
      expect(loaded.config.model_type).toBe(type);
      const ids = tensor([[1, 2, 3, 4]], { dtype: 'int32' });
      expect(Array.from(loaded.forward(ids).logits.dataSync())).toEqual(
        Array.from(model.forward(ids).logits.dataSync()),
      );
      // Saving unsharded afterwards replaces the shards' index, so no stale layout is read.
      await loaded.savePretrained(dir);
      await expect(readFile(join(dir, 'model.safetensors.index.json'))).rejects.toThrow();
      model.dispose();
      loaded.dispose();
    },
  );

  it('streams a sharded bf16 checkpoint into bf16 parameters without a float32 copy of the model', async () => {
    manualSeed(12);
    const model = new LlamaForCausalLM({ ...SMALL, vocab_size: 512, hidden_size: 64, intermediate_size: 128 }).toDType(
      'bfloat16',
    );
    const dir = join(tmp.path, 'bf16-sharded');
    await model.savePretrained(dir, { maxShardBytes: 40_000 });
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    for (const file of new Set(Object.values(index.weight_map as Record<string, string>))) {
      const header = await readSafetensorsHeader(join(dir, file));
      expect([...header.tensors.values()].every((t) => t.dtype === 'BF16')).toBe(true);
    }
    const tracker = getBackend().tracker;
    const before = tracker.snapshot().totalLive;
    tracker.resetPeak();
    const loaded = await AutoModelForCausalLM.fromPretrained(dir);
    expect(loaded.dtype).toBe('bfloat16');
    const paramBytes = loaded.numParameters() * 2;
    // The parameters themselves and nothing else: bf16 values are written straight into them.
    expect(tracker.snapshot().totalPeak - before).toBe(paramBytes);
    const values = (m: LlamaForCausalLM) => [...m.namedParameters()].map(([, p]) => Array.from(p.dataSync()));
    expect(values(loaded)).toEqual(values(model));
    model.dispose();
    loaded.dispose();
  });

  it('refuses a folder of an unsupported family by name', async () => {
    const dir = join(tmp.path, 'gemma');
    await new LlamaForCausalLM(SMALL).savePretrained(dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gemma' }));
    await expect(AutoModelForCausalLM.fromPretrained(dir)).rejects.toThrow(/model_type "gemma"/);
  });
});

describe('bfloat16 models', () => {
  it('apply the padding mask and the sliding window as float32 does, within bf16 rounding', () => {
    manualSeed(14);
    const f32 = new MistralForCausalLM({ ...SMALL, sliding_window: 2 });
    const bf16 = new MistralForCausalLM({ ...SMALL, sliding_window: 2 });
    bf16.loadStateDict(f32.stateDict());
    bf16.toDType('bfloat16');
    const ids = tensor(
      [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 0, 0],
      ],
      { dtype: 'int32' },
    );
    const attentionMask = tensor(
      [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
      ],
      { dtype: 'int32' },
    );
    const a = f32.forward(ids, { attentionMask }).logits.dataSync();
    const b = bf16.forward(ids, { attentionMask }).logits.dataSync();
    expect(b.every(Number.isFinite)).toBe(true);
    for (const [i, v] of a.entries()) expect(Math.abs(b[i]! - v)).toBeLessThan(0.05);
    f32.dispose();
    bf16.dispose();
  });
});

describe('KV cache', () => {
  it('generates greedily as re-running the whole sequence would, and times prefill and decode', async () => {
    manualSeed(13);
    const model = new MistralForCausalLM({ ...SMALL, sliding_window: 3, max_position_embeddings: 16 });
    const prompt = [1, 2, 3];
    const result = await generate(model, prompt, { maxNewTokens: 6 });
    const expected: number[] = [];
    const seq = [...prompt];
    for (let i = 0; i < 6; i++) {
      const logits = noGrad(() => model.forward(tensor([seq], { dtype: 'int32' })).logits);
      const last = Array.from(logits.dataSync().subarray((seq.length - 1) * 17, seq.length * 17));
      logits.dispose();
      const next = last.indexOf(Math.max(...last));
      expected.push(next);
      seq.push(next);
    }
    expect(result.tokens).toEqual(expected);
    expect(result.stoppedBy).toBe('max-new-tokens');
    expect([result.prefill.tokens, result.decode.tokens]).toEqual([3, 5]);
    expect(result.prefill.tokensPerSecond).toBeGreaterThan(0);
    const stopped = await generate(model, prompt, { maxNewTokens: 6, stopTokens: [expected[2]!] });
    expect(stopped.tokens).toEqual(expected.slice(0, expected.indexOf(expected[2]!)));
    expect(stopped.stoppedBy).toBe('stop-token');
    await expect(generate(model, prompt, { maxNewTokens: 14 })).rejects.toThrow(
      /3 prompt tokens \+ 14 new tokens exceed the model's context of 16/,
    );
    model.dispose();
  });

  it('refuses tokens past the context', () => {
    const model = new LlamaForCausalLM(SMALL);
    const cache = new KVCache(2);
    noGrad(() => model.forward(tensor([[1, 2, 3, 4, 5, 6]], { dtype: 'int32' }), { cache }).logits.dispose());
    expect(() => noGrad(() => model.forward(tensor([[1, 2, 3]], { dtype: 'int32' }), { cache }))).toThrow(
      /6 cached \+ 3 new tokens exceed the context of 8 positions/,
    );
    expect(() => model.forward(tensor([[1]], { dtype: 'int32' }), { cache })).toThrow(/inside noGrad/);
    cache.dispose();
    model.dispose();
  });
});
