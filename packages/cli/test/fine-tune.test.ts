/** `galore-ts train --format chat` on a Hugging Face folder, then `generate --chat`, in-process. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForCausalLM, manualSeed } from '@galore-ts/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/test/helpers/temp-dir.js';
import { TINY_VOCAB_SIZE, writeTinyTokenizer } from '../../core/test/helpers/tiny-tokenizer.js';
import { type GenerateReport, main, memoryIO, type TrainReport } from '../src/index.js';

const tmp = useTempDir('galore-finetune-');
let model: string;

async function json<T>(...argv: string[]): Promise<T> {
  const io = memoryIO();
  const code = await main([...argv, '--json'], io);
  if (code !== 0) throw new Error(`galore-ts ${argv.join(' ')} exited ${code}: ${io.err.join('')}`);
  return JSON.parse(io.out.join('')) as T;
}

const chat = (c: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: c },
      { role: 'assistant', content: `${c}${c}` },
    ],
  });

beforeAll(async () => {
  model = join(tmp.path, 'qwen2-tiny');
  manualSeed(3);
  const config = {
    model_type: 'qwen2',
    vocab_size: TINY_VOCAB_SIZE,
    hidden_size: 16,
    intermediate_size: 32,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    num_hidden_layers: 2,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
  };
  await AutoModelForCausalLM.fromConfig(config).savePretrained(model);
  await writeTinyTokenizer(model);
  await writeFile(join(tmp.path, 'sft.jsonl'), `${[...'abcdefghij'].map(chat).join('\n')}\n`);
  await writeFile(join(tmp.path, 'eval.jsonl'), `${[...'klm'].map(chat).join('\n')}\n`);
});

describe('fine-tuning from the command line', () => {
  it('trains a Hugging Face folder on chat JSONL for --epochs with a separate --eval-data, then answers with --chat', async () => {
    const run = join(tmp.path, 'run');
    const report = await json<TrainReport>(
      'train',
      ...['--model', model, '--tokenizer', model, '--data', join(tmp.path, 'sft.jsonl'), '--format', 'chat'],
      ...['--eval-data', join(tmp.path, 'eval.jsonl'), '--epochs', '3', '--batch-size', '5', '--seq-len', '16'],
      ...['--optimizer', 'galore_adamw', '--rank', '4', '--lr', '0.01', '--eval-every', '3', '--out', run],
    );
    // 10 conversations in batches of 5, three times.
    expect(report.steps).toBe(6);
    expect(Number.isFinite(report.final_val_loss)).toBe(true);

    const answer = await json<GenerateReport>(
      'generate',
      run,
      ...['--chat', '--prompt', 'c', '--tokenizer', model, '--temperature', '0', '--max-new-tokens', '3'],
    );
    expect(answer.new_tokens).toBeLessThanOrEqual(3);
    expect(answer.prefill_tokens_per_s).toBeGreaterThan(0);

    // The checkpoint is a whole Hugging Face folder: its tokenizer and chat template travel with it.
    const checkpoint = report.last_checkpoint!;
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      expect(await readFile(join(checkpoint, file), 'utf8')).toBe(await readFile(join(model, file), 'utf8'));
    }
    const alone = await json<GenerateReport>(
      'generate',
      checkpoint,
      ...['--chat', '--prompt', 'c', '--temperature', '0', '--max-new-tokens', '3'],
    );
    expect(alone.completion).toBe(answer.completion);
  });

  it('refuses --epochs for packed text and --chat without a chat template', async () => {
    const io = memoryIO();
    expect(await main(['train', '--model', model, '--tokenizer', model, '--epochs', '2'], io)).toBe(1);
    expect(io.err.join('')).toMatch(/--epochs applies to --format chat, prompt-completion or alpaca/);
    const io2 = memoryIO();
    expect(await main(['generate', model, '--chat', '--prompt', 'a', '--tokenizer', 'byte'], io2)).toBe(1);
    expect(io2.err.join('')).toMatch(/--chat needs a Hugging Face tokenizer folder/);
  });
});
