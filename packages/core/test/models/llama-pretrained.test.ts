import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualSeed, type Tensor, tensor } from '../../src/index.js';
import { readSafetensorsHeader } from '../../src/io/index.js';
import { saveTensors } from '../../src/io/tensors.js';
import { type LlamaConfigInput, LlamaForCausalLM } from '../../src/models/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

const CONFIG: LlamaConfigInput = {
  vocab_size: 13,
  hidden_size: 8,
  intermediate_size: 12,
  num_attention_heads: 2,
  num_hidden_layers: 2,
};

const tmp = useTempDir('llama-pretrained-');

function values(model: LlamaForCausalLM): Map<string, number[]> {
  return new Map([...model.namedParameters()].map(([n, p]) => [n, Array.from(p.dataSync())]));
}

describe('savePretrained / fromPretrained', () => {
  it('round-trips every parameter and the config through a Hugging Face folder (float32)', async () => {
    manualSeed(1);
    const model = new LlamaForCausalLM(CONFIG);
    const dir = join(tmp.path, 'f32');
    await model.savePretrained(dir);
    const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect([...header.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);
    expect([...header.tensors.keys()].sort()).toEqual([...model.namedParameters()].map(([n]) => n).sort());
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      torch_dtype: 'float32',
      hidden_size: 8,
    });

    manualSeed(2); // a different draw must not matter: every value comes from the file
    const loaded = await LlamaForCausalLM.fromPretrained(dir);
    expect(loaded.config).toEqual({ ...model.config, architectures: ['LlamaForCausalLM'], torch_dtype: 'float32' });
    expect(values(loaded)).toEqual(values(model));
    const ids = tensor([[1, 2, 3]], { dtype: 'int32' });
    expect(Array.from(loaded.forward(ids).logits.dataSync())).toEqual(Array.from(model.forward(ids).logits.dataSync()));
    model.dispose();
    loaded.dispose();
  });

  it('writes BF16 for a bfloat16 model and reads it back as bfloat16', async () => {
    manualSeed(3);
    const model = new LlamaForCausalLM(CONFIG).toDType('bfloat16');
    const dir = join(tmp.path, 'bf16');
    await model.savePretrained(dir);
    const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
    expect([...header.tensors.values()].every((t) => t.dtype === 'BF16')).toBe(true);
    const loaded = await LlamaForCausalLM.fromPretrained(dir);
    expect(loaded.dtype).toBe('bfloat16');
    expect(values(loaded)).toEqual(values(model));
    // Loading a BF16 checkpoint into float32 parameters converts exactly (bf16 values are f32 values).
    const widened = await LlamaForCausalLM.fromPretrained(dir, { dtype: 'float32' });
    expect(widened.dtype).toBe('float32');
    expect(values(widened)).toEqual(values(model));
    for (const m of [model, loaded, widened]) m.dispose();
  });

  it('writes tied embeddings once, as embed_tokens, and ties them again on load', async () => {
    const model = new LlamaForCausalLM({ ...CONFIG, tie_word_embeddings: true });
    const dir = join(tmp.path, 'tied');
    await model.savePretrained(dir);
    const names = [...(await readSafetensorsHeader(join(dir, 'model.safetensors'))).tensors.keys()];
    expect(names).toContain('model.embed_tokens.weight');
    expect(names).not.toContain('lm_head.weight');
    const loaded = await LlamaForCausalLM.fromPretrained(dir);
    expect(loaded.stateDict()['lm_head.weight']).toBe(loaded.stateDict()['model.embed_tokens.weight']);
    expect(values(loaded)).toEqual(values(model));
    model.dispose();
    loaded.dispose();
  });

  it('loads sharded checkpoints listed by model.safetensors.index.json, ignoring rotary inv_freq buffers', async () => {
    manualSeed(4);
    const model = new LlamaForCausalLM(CONFIG);
    const dir = join(tmp.path, 'sharded');
    const entries = [...model.namedParameters()];
    const half = Math.floor(entries.length / 2);
    const shards = {
      'model-00001-of-00002.safetensors': entries.slice(0, half),
      'model-00002-of-00002.safetensors': entries.slice(half),
    };
    const weightMap: Record<string, string> = {};
    await model.savePretrained(dir); // for config.json
    await rm(join(dir, 'model.safetensors'));
    for (const [file, list] of Object.entries(shards)) {
      const extra: Record<string, Tensor> = file.startsWith('model-00001')
        ? { 'model.layers.0.self_attn.rotary_emb.inv_freq': tensor([1, 0.5]) }
        : {};
      await saveTensors(join(dir, file), { ...Object.fromEntries(list), ...extra });
      for (const [name] of list) weightMap[name] = file;
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const loaded = await LlamaForCausalLM.fromPretrained(dir);
    expect(values(loaded)).toEqual(values(model));
    model.dispose();
    loaded.dispose();
  });

  it('lists missing, unexpected and misshapen tensors in its errors', async () => {
    const model = new LlamaForCausalLM(CONFIG);
    const dir = join(tmp.path, 'broken');
    await model.savePretrained(dir);
    const dict = Object.fromEntries(model.namedParameters());
    delete dict['model.norm.weight'];
    await saveTensors(join(dir, 'model.safetensors'), { ...dict, 'model.extra.weight': tensor([1, 2]) });
    await expect(LlamaForCausalLM.fromPretrained(dir)).rejects.toThrow(
      /missing keys: model\.norm\.weight; unexpected keys: model\.extra\.weight/,
    );
    await saveTensors(join(dir, 'model.safetensors'), { ...dict, 'model.norm.weight': tensor([1, 2]) });
    await expect(LlamaForCausalLM.fromPretrained(dir)).rejects.toThrow(
      /model\.norm\.weight: expected shape \[8\], got \[2\]/,
    );
    await expect(LlamaForCausalLM.fromPretrained(join(tmp.path, 'nowhere'))).rejects.toThrow(
      /cannot read .*config\.json/,
    );
    model.dispose();
  });
});
