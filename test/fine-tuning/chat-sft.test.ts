/**
 * End to end, per family: a small random Hugging Face folder with a tokenizer and chat template,
 * GaLore fine-tuning on a chat set whose answer is a function of the prompt (the next letter),
 * response-only loss falling, answers becoming right, save, reload, generate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM,
  generate,
  HuggingFaceTokenizer,
  InstructionDataset,
  type LlamaForCausalLM,
  manualSeed,
  nextTokenLoss,
} from '@galore-ts/core';
import { createOptimizer } from '@galore-ts/galore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CHAT_MODEL, writeTinyTokenizer } from '../../packages/core/test/helpers/tiny-tokenizer.js';

const LETTERS = 'abcdefghij';
const nextLetter = (c: string) => String.fromCharCode(c.charCodeAt(0) + 1);
const CHATS = [...LETTERS].map((c, i) => ({
  record: {
    messages: [
      { role: 'user', content: c },
      { role: 'assistant', content: nextLetter(c) },
    ],
  },
  where: `chat ${i}`,
}));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chat-sft-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function answers(model: LlamaForCausalLM, tok: HuggingFaceTokenizer): Promise<string[]> {
  const out: string[] = [];
  for (const c of LETTERS) {
    const prompt = tok.encode(tok.applyChatTemplate([{ role: 'user', content: c }], { addGenerationPrompt: true }));
    const { tokens } = await generate(model, prompt, { maxNewTokens: 4, stopTokens: [tok.eosId!] });
    out.push(tok.decode(tokens));
  }
  return out;
}

describe.each([
  [
    'llama',
    {
      tie_word_embeddings: true,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 4,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 16,
      },
    },
  ],
  ['mistral', { sliding_window: 4 }],
  ['qwen2', { tie_word_embeddings: true }],
])('fine-tuning a %s chat model with GaLore', (family, extra) => {
  it('lowers the response loss, answers right, and answers the same after save and reload', async () => {
    manualSeed(21);
    const dir = join(root, family);
    await AutoModelForCausalLM.fromConfig({ ...TINY_CHAT_MODEL, ...extra, model_type: family }).savePretrained(dir);
    await writeTinyTokenizer(dir);
    const model = await AutoModelForCausalLM.fromPretrained(dir);
    const tok = await HuggingFaceTokenizer.load(dir);
    const data = InstructionDataset.fromRecords(CHATS, tok, {
      format: 'chat',
      batchSize: 10,
      maxLength: 32,
      epochs: Number.POSITIVE_INFINITY,
      seed: 1,
    });
    const { optimizer, projected } = createOptimizer('galore_adamw', model.namedParameters(), {
      lr: 0.01,
      rank: 4,
      updateProjGap: 25,
      scale: 1,
    });
    expect(projected.length).toBe(2 * 7);
    const losses: number[] = [];
    for (let step = 0; step < 150; step++) {
      const loss = nextTokenLoss(model, (await data.nextBatch())!);
      losses.push(loss.itemSync());
      loss.backward();
      loss.dispose();
      optimizer.step();
      optimizer.zeroGrad();
    }
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses.at(-1)).toBeLessThan(0.1);
    const expected = [...LETTERS].map(nextLetter);
    expect(await answers(model, tok)).toEqual(expected);

    const saved = join(root, `${family}-tuned`);
    await model.savePretrained(saved);
    const reloaded = await AutoModelForCausalLM.fromPretrained(saved);
    expect(reloaded.config.model_type).toBe(family);
    expect(await answers(reloaded, tok)).toEqual(expected);
    optimizer.dispose?.();
    model.dispose();
    reloaded.dispose();
  });
});
