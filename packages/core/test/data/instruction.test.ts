import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeExample, HuggingFaceTokenizer, InstructionDataset, readRecord } from '../../src/data/index.js';
import { LlamaForCausalLM, manualSeed, nextTokenLoss } from '../../src/index.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { TINY_VOCAB_SIZE, writeTinyTokenizer } from '../helpers/tiny-tokenizer.js';

const tmp = useTempDir('instruction-');
let tok: HuggingFaceTokenizer;
beforeAll(async () => {
  await writeTinyTokenizer(join(tmp.path, 'tok'));
  tok = await HuggingFaceTokenizer.load(join(tmp.path, 'tok'));
});

const ids = (text: string) => tok.encode(text);
const masked = (n: number) => new Array<number>(n).fill(-100);

describe('instruction records', () => {
  it('masks the chat prompt (through the generation header) and trains on the reply and its EOS', () => {
    const example = readRecord(
      {
        messages: [
          { role: 'user', content: 'ab' },
          { role: 'assistant', content: 'cd' },
        ],
      },
      'chat',
      'line 1',
    );
    const prompt = ids('<s><|user|>ab</s><|assistant|>');
    const reply = ids('cd</s>');
    expect(encodeExample(example, tok)).toEqual({
      ids: [...prompt, ...reply],
      labels: [...masked(prompt.length), ...reply],
    });
  });

  it('trains on every assistant turn of a multi-turn chat', () => {
    const example = readRecord(
      {
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: 'c' },
          { role: 'assistant', content: 'd' },
        ],
      },
      'chat',
      'x',
    );
    const { labels } = encodeExample(example, tok);
    expect(tok.decode(labels.filter((l) => l !== -100))).toBe('bd');
  });

  it('writes prompt-completion as BOS + prompt + completion + EOS, and Alpaca into its prompt', () => {
    const pc = encodeExample(readRecord({ prompt: '1+1=', completion: '2' }, 'prompt-completion', 'x'), tok);
    expect(pc).toEqual({ ids: [1, ...ids('1+1=2'), 2], labels: [...masked(5), ...ids('2'), 2] });
    const alpaca = readRecord({ instruction: 'add', input: '1 1', output: '2' }, 'alpaca', 'x');
    expect(alpaca).toMatchObject({ kind: 'prompt-completion', completion: '2' });
    expect((alpaca as { prompt: string }).prompt).toMatch(
      /### Instruction:\nadd\n\n### Input:\n1 1\n\n### Response:\n$/,
    );
    const noInput = readRecord({ instruction: 'add', output: '2' }, 'alpaca', 'x') as { prompt: string };
    expect(noInput.prompt).not.toMatch(/Input/);
    expect(readRecord({ body: 'hi' }, 'text', 'x', { textField: 'body' })).toEqual({ kind: 'text', text: 'hi' });
  });

  it('names the line and the field in errors', () => {
    expect(() => readRecord({ prompt: 'a' }, 'prompt-completion', 'sft.jsonl:3')).toThrow(
      /sft\.jsonl:3: the prompt-completion format needs a string field "completion"/,
    );
    expect(() => readRecord({ messages: [{ role: 'user' }] }, 'chat', 'f:1')).toThrow(/messages\[0\] must be/);
    expect(() => readRecord({ text: 'a' }, 'text', 'f:2', { textField: 'body' })).toThrow(/field "body"/);
  });
});

describe('InstructionDataset', () => {
  const records = ['ab', 'abcd', 'a', 'abc', 'b'].map((p, i) => ({
    record: { prompt: p, completion: String(i) },
    where: `r${i}`,
  }));

  it('pads rows to the longest, masks padding in labels and attention, serves epochs, resumes', async () => {
    const data = InstructionDataset.fromRecords(records, tok, {
      format: 'prompt-completion',
      batchSize: 2,
      maxLength: 16,
      epochs: 2,
      seed: 3,
    });
    const first = (await data.nextBatch())!;
    const [rows, width] = first.shape;
    expect(rows).toBe(2);
    for (let r = 0; r < rows; r++) {
      const real = first.attentionMask!.subarray(r * width, (r + 1) * width).reduce((a, b) => a + b, 0);
      for (let p = real; p < width; p++) {
        expect(first.tokens[r * width + p]).toBe(0); // <pad>
        expect(first.labels![r * width + p]).toBe(-100);
      }
    }
    const saved = data.state();
    const rest: string[] = [];
    for (let b = await data.nextBatch(); b; b = await data.nextBatch()) rest.push(Array.from(b.tokens).join());
    expect(rest).toHaveLength(2 + 3); // 3 batches per epoch, 2 epochs, one already taken
    await data.restore(saved);
    expect(Array.from((await data.nextBatch())!.tokens).join()).toBe(rest[0]);
  });

  it('cuts long examples and skips those left without a response token', async () => {
    const data = InstructionDataset.fromRecords(records, tok, {
      format: 'prompt-completion',
      batchSize: 8,
      maxLength: 4,
    });
    // BOS + prompt must leave room for one response token: 'ab'->[s,a,b,0], 'a'->[s,a,2,</s>], 'b' likewise.
    expect([data.size, data.skipped]).toEqual([3, 2]);
  });

  it('reads JSONL files and reports the bad line', async () => {
    const path = join(tmp.path, 'sft.jsonl');
    await writeFile(path, `${JSON.stringify({ prompt: 'a', completion: 'b' })}\n\n{oops\n`);
    await expect(
      InstructionDataset.fromFile(path, tok, { format: 'prompt-completion', batchSize: 1, maxLength: 8 }),
    ).rejects.toThrow(/sft\.jsonl:3: not valid JSON/);
  });

  it('gives a padded batch the token-weighted loss of its examples run alone', async () => {
    manualSeed(5);
    const model = new LlamaForCausalLM(
      {
        vocab_size: TINY_VOCAB_SIZE,
        hidden_size: 16,
        intermediate_size: 24,
        num_attention_heads: 2,
        num_hidden_layers: 2,
      },
      { dtype: 'float64' },
    );
    const options = { format: 'prompt-completion' as const, maxLength: 16, shuffle: false };
    const together = InstructionDataset.fromRecords(records, tok, { ...options, batchSize: 5 });
    const alone = InstructionDataset.fromRecords(records, tok, { ...options, batchSize: 1 });
    const batchLoss = nextTokenLoss(model, (await together.nextBatch())!);
    let sum = 0;
    let count = 0;
    for (const batch of alone.batches()) {
      const n = batch.labels!.slice(1).filter((l) => l !== -100).length;
      const loss = nextTokenLoss(model, batch);
      sum += loss.itemSync() * n;
      count += n;
      loss.dispose();
    }
    expect(batchLoss.itemSync()).toBeCloseTo(sum / count, 10);
    batchLoss.dispose();
    model.dispose();
  });
});
