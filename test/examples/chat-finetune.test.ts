import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, manualSeed } from '@galore-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFinetune } from '../../examples/chat-finetune.js';
import { TINY_CHAT_MODEL, writeTinyTokenizer } from '../../packages/core/test/helpers/tiny-tokenizer.js';

// The answer is a function of the prompt: the next letter.
const LETTERS = 'abcdefghij';
const nextLetter = (c: string) => String.fromCharCode(c.charCodeAt(0) + 1);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'example-chat-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('examples/chat-finetune.ts', () => {
  it('fine-tunes a tiny Qwen2 folder on chats with GaLore, lowering the response loss, then generates', async () => {
    const model = join(root, 'qwen2');
    manualSeed(21);
    await AutoModelForCausalLM.fromConfig({
      ...TINY_CHAT_MODEL,
      model_type: 'qwen2',
      tie_word_embeddings: true,
    }).savePretrained(model);
    await writeTinyTokenizer(model);
    const data = join(root, 'chats.jsonl');
    const chats = [...LETTERS].map((c) => ({
      messages: [
        { role: 'user', content: c },
        { role: 'assistant', content: nextLetter(c) },
      ],
    }));
    await writeFile(data, `${chats.map((c) => JSON.stringify(c)).join('\n')}\n`);

    const lines: string[] = [];
    const result = await chatFinetune({
      model,
      data,
      steps: 60,
      batchSize: 10,
      maxLength: 32,
      lr: 0.01,
      rank: 4,
      updateProjGap: 25,
      scale: 1,
      prompt: 'c',
      maxNewTokens: 4,
      log: (line) => lines.push(line),
    });
    expect(result.projected).toHaveLength(2 * 7);
    expect(result.losses).toHaveLength(60);
    expect(result.finalLoss).toBeLessThan(result.initialLoss / 2);
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]!);
    expect(result.tokens.length).toBeGreaterThan(0);
    // Sixty steps teach this tiny model the rule: c -> d.
    expect(result.answer).toBe('d');
    expect(lines.at(-1)).toBe('user: c\nassistant: d');
  });
});
