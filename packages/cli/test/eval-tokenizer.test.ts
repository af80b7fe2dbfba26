/**
 * Issue 9 items 4, 13 and 14: eval evaluates the run's validation split by default and says so,
 * fails on non-finite weights; a model folder's tokenizer.json is used by default and a tokenizer
 * whose ids do not fit the model is refused by train, eval and generate.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LlamaForCausalLM, manualSeed, readMetrics } from '@galore-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EvalReport, type GenerateReport, main, memoryIO, type TrainReport } from '../src/index.js';
import { cli, json, MICRO, microWorkspace } from './helpers.js';

let dir: string;
let tinyRun: string[];

beforeAll(async () => {
  ({ dir, tinyRun } = await microWorkspace('galore-eval-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('galore-ts eval <run>', () => {
  it("evaluates the run's validation split, the loss training reported, and says so", async () => {
    const run = join(dir, 'run');
    await json('train', ...tinyRun, '--steps', '2', '--eval-every', '2', '--save-every', '2', '--out', run);
    const rows = await readMetrics(join(run, 'metrics.jsonl'));
    const report = await json<EvalReport>('eval', run);
    expect(report.split).toBe('validation');
    expect(report.evaluated).toContain('the validation split of');
    expect(report.evaluated).toContain('first 2 sequences of 16 tokens');
    expect(report.batches).toBe(1);
    expect(report.tokens).toBe(2 * 16);
    expect(report.loss).toBeCloseTo(rows.at(-1)!.val_loss!, 6);
    const plain = await cli('eval', run);
    expect(plain.out).toContain('evaluated   the validation split of');
  });

  it('shows its progress on a terminal', async () => {
    const io = { ...memoryIO(), interactive: true };
    expect(await main(['eval', join(dir, 'run')], io)).toBe(0);
    expect(io.err.join('')).toContain('\revaluating the validation split of');
  });

  it('exits non-zero on a checkpoint with non-finite weights', async () => {
    const model = await LlamaForCausalLM.fromPretrained(join(dir, 'run', 'checkpoints', 'step-00000002'));
    const weight = model.stateDict()['model.norm.weight']!;
    weight.backend.fill(weight.storage, Number.NaN);
    const poisoned = join(dir, 'poisoned');
    await model.savePretrained(poisoned);
    model.dispose();
    const result = await cli('eval', poisoned, '--data', join(dir, 'micro.json'));
    expect(result.code).toBe(1);
    expect(result.err).toContain('the weight model.norm.weight holds NaN (not finite)');
  });
});

/** A WordPiece tokenizer.json of 8 ids (as the Rust `tokenizers` library writes one). */
const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});
const WORD_PIECE = {
  version: '1.0',
  added_tokens: [special(0, '[UNK]'), special(1, '[CLS]'), special(2, '[SEP]')],
  normalizer: { type: 'Lowercase' },
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab: { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, hello: 3, world: 4, '!': 5, gal: 6, '##ore': 7 },
  },
};

describe("a Hugging Face folder's tokenizer.json", () => {
  let folder: string;
  let text: string;

  beforeAll(async () => {
    folder = join(dir, 'hf');
    manualSeed(0);
    const model = new LlamaForCausalLM({ ...MICRO, vocab_size: 8 });
    await model.savePretrained(folder);
    model.dispose();
    await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(WORD_PIECE));
    text = join(dir, 'words.txt');
    await writeFile(text, 'hello world! galore hello galore world!\n'.repeat(200));
  });

  it('is what train, eval and generate use by default', async () => {
    const flags = ['--data', text, '--batch-size', '2', '--seq-len', '8', '--steps', '1', '--eval-every', '0'];
    const report = await json<TrainReport>('train', '--model', folder, ...flags, '--out', join(dir, 'ft'));
    expect(report.steps).toBe(1);
    const runJson = JSON.parse(await readFile(join(dir, 'ft', 'run.json'), 'utf8'));
    expect(runJson.settings.tokenizer).toBe(join(folder, 'tokenizer.json'));
    const evaluated = await json<EvalReport>('eval', folder, '--data', text, '--seq-len', '8', '--max-batches', '1');
    expect(Number.isFinite(evaluated.loss)).toBe(true);
    const generated = await json<GenerateReport>('generate', folder, '--prompt', 'hello', '--max-new-tokens', '3');
    expect(generated.new_tokens).toBeGreaterThan(0);
  });

  it('a tokenizer whose ids do not fit the model is refused by train, eval and generate', async () => {
    const expected = "the tokenizer 'byte' has 258 ids but the model";
    const train = await cli('train', '--model', folder, '--tokenizer', 'byte', '--data', text, '--out', join(dir, 'x'));
    expect(train.err).toContain(expected);
    const evaluated = await cli('eval', folder, '--tokenizer', 'byte', '--data', text);
    expect(evaluated.code).toBe(1);
    expect(evaluated.err).toContain(expected);
    const generated = await cli('generate', folder, '--tokenizer', 'byte', '--prompt', 'hi');
    expect(generated.code).toBe(1);
    expect(generated.err).toContain(expected);
  });
});
