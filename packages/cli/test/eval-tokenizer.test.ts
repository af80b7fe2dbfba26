/**
 * Issue 9 items 4, 13 and 14: eval evaluates the run's validation split by default and says so,
 * fails on non-finite weights; a model folder's tokenizer.json is used by default and a tokenizer
 * whose ids do not fit the model is refused by train, eval and generate.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LlamaForCausalLM, manualSeed, readMetrics } from '@galore-ts/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORD_PIECE } from '../../core/test/data/word-piece.js';
import { type EvalReport, type GenerateReport, main, memoryIO, type TrainReport } from '../src/index.js';
import { cli, json, MICRO, useMicroWorkspace } from './helpers.js';

const ws = useMicroWorkspace('galore-eval-');

describe('galore-ts eval <run>', () => {
  it("evaluates the run's validation split, the loss training reported, and says so", async () => {
    const run = join(ws.dir, 'run');
    await json('train', ...ws.tinyRun, '--steps', '2', '--eval-every', '2', '--save-every', '2', '--out', run);
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
    expect(await main(['eval', join(ws.dir, 'run')], io)).toBe(0);
    expect(io.err.join('')).toContain('\revaluating the validation split of');
  });

  it('exits non-zero on a checkpoint with non-finite weights', async () => {
    const model = await LlamaForCausalLM.fromPretrained(join(ws.dir, 'run', 'checkpoints', 'step-00000002'));
    const weight = model.stateDict()['model.norm.weight']!;
    weight.backend.run('fill', { out: weight.storage }, { value: Number.NaN });
    const poisoned = join(ws.dir, 'poisoned');
    await model.savePretrained(poisoned);
    model.dispose();
    const result = await cli('eval', poisoned, '--data', join(ws.dir, 'micro.json'));
    expect(result.code).toBe(1);
    expect(result.err).toContain('the weight model.norm.weight holds NaN (not finite)');
  });
});

describe("a Hugging Face folder's tokenizer.json", () => {
  let folder: string;
  let text: string;

  beforeAll(async () => {
    folder = join(ws.dir, 'hf');
    manualSeed(0);
    const model = new LlamaForCausalLM({ ...MICRO, vocab_size: 8 });
    await model.savePretrained(folder);
    model.dispose();
    await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(WORD_PIECE));
    text = join(ws.dir, 'words.txt');
    await writeFile(text, 'hello world! galore hello galore world!\n'.repeat(200));
  });

  it('is what train, eval and generate use by default', async () => {
    const flags = ['--data', text, '--batch-size', '2', '--seq-len', '8', '--steps', '1', '--eval-every', '0'];
    const report = await json<TrainReport>('train', '--model', folder, ...flags, '--out', join(ws.dir, 'ft'));
    expect(report.steps).toBe(1);
    const runJson = JSON.parse(await readFile(join(ws.dir, 'ft', 'run.json'), 'utf8'));
    expect(runJson.settings.tokenizer).toBe(join(folder, 'tokenizer.json'));
    const evaluated = await json<EvalReport>('eval', folder, '--data', text, '--seq-len', '8', '--max-batches', '1');
    expect(Number.isFinite(evaluated.loss)).toBe(true);
    const generated = await json<GenerateReport>('generate', folder, '--prompt', 'hello', '--max-new-tokens', '3');
    expect(generated.new_tokens).toBeGreaterThan(0);
  });

  it('a tokenizer whose ids do not fit the model is refused by train, eval and generate', async () => {
    const expected = "the tokenizer 'byte' has 258 ids but the model";
    const train = await cli(
      'train',
      '--model',
      folder,
      '--tokenizer',
      'byte',
      '--data',
      text,
      '--out',
      join(ws.dir, 'x'),
    );
    expect(train.err).toContain(expected);
    const evaluated = await cli('eval', folder, '--tokenizer', 'byte', '--data', text);
    expect(evaluated.code).toBe(1);
    expect(evaluated.err).toContain(expected);
    const generated = await cli('generate', folder, '--tokenizer', 'byte', '--prompt', 'hi');
    expect(generated.code).toBe(1);
    expect(generated.err).toContain(expected);
  });
});
