/**
 * The galore-ts command end to end, in-process through main(argv, io), on a model small enough that
 * every command takes well under a second: train, resume, eval, generate, plot, memory, and the
 * errors a person gets for wrong flags and missing files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MetricsRow, readMetrics } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CORPUS, type EvalReport, type GenerateReport, type TrainReport } from '../src/index.js';
import { cli, json, plan60m, useMicroWorkspace } from './helpers.js';

const ws = useMicroWorkspace('galore-cli-');
const run = () => join(ws.dir, 'run');

describe('galore-ts train', () => {
  it('trains, evaluates, checkpoints and writes metrics JSONL; the summary is JSON with --json', async () => {
    const report = await json<TrainReport>(
      'train',
      ...ws.tinyRun,
      '--steps',
      '4',
      '--eval-every',
      '2',
      '--save-every',
      '2',
      '--out',
      run(),
    );
    expect(report).toMatchObject({
      run_dir: run(),
      steps: 4,
      tokens: 4 * 2 * 16,
      stop_reason: 'completed',
      optimizer: 'adamw',
      resumed_from: null,
    });
    expect(report.final_loss).toBeLessThan(report.first_loss!);
    expect(report.final_val_ppl).toBeCloseTo(Math.exp(report.final_val_loss!), 8);
    expect(report.last_checkpoint).toBe(join(run(), 'checkpoints', 'step-00000004'));
    const rows = await readMetrics(join(run(), 'metrics.jsonl'));
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    for (const r of rows) {
      for (const key of ['loss', 'lr', 'tokens_per_s'] as const) expect(Number.isFinite(r[key])).toBe(true);
    }
    expect(rows.filter((r) => r.val_loss !== undefined).map((r) => r.step)).toEqual([2, 4]);
    expect(rows[1]!.val_ppl).toBeCloseTo(Math.exp(rows[1]!.val_loss!), 8);
    expect((await readdir(join(run(), 'checkpoints'))).sort()).toEqual(['latest', 'step-00000002', 'step-00000004']);
  });

  it('resumes from the run folder with the saved settings, replacing no finished rows', async () => {
    const before = await readMetrics(join(run(), 'metrics.jsonl'));
    const report = await json<TrainReport>('train', '--resume', '--out', run(), '--steps', '6');
    expect(report.resumed_from).toBe(join(run(), 'checkpoints', 'step-00000004'));
    expect(report.steps).toBe(6);
    // Saved settings were kept: the micro model and 2 x 16 tokens per step.
    expect(report.parameters).toBeLessThan(20_000);
    expect(report.tokens).toBe(6 * 2 * 16);
    const rows: MetricsRow[] = await readMetrics(join(run(), 'metrics.jsonl'));
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.slice(0, 4)).toEqual(before);
  });

  it('resumes GaLore training exactly: 6 steps straight equal 3 + resume + 3 (projectors and moments restored)', async () => {
    // A constant schedule (no warmup, floor 1), so a 3-step run is the start of the 6-step one.
    const galore = [
      ...ws.tinyRun,
      '--optimizer',
      'galore_adamw',
      '--rank',
      '4',
      '--update-proj-gap',
      '2',
      '--warmup',
      '0',
      '--min-lr-ratio',
      '1',
    ];
    const common = [...galore, '--eval-every', '3', '--save-every', '3'];
    await json('train', ...common, '--steps', '6', '--out', join(ws.dir, 'g-straight'));
    await json('train', ...common, '--steps', '3', '--out', join(ws.dir, 'g-split'));
    await json('train', '--resume', '--out', join(ws.dir, 'g-split'), '--steps', '6');
    const pick = (rows: MetricsRow[]) =>
      rows.map(({ step, loss, lr, grad_norm, val_loss }) => ({ step, loss, lr, grad_norm, val_loss }));
    const straight = await readMetrics(join(ws.dir, 'g-straight', 'metrics.jsonl'));
    const split = await readMetrics(join(ws.dir, 'g-split', 'metrics.jsonl'));
    expect(split.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(pick(split)).toEqual(pick(straight));
  });

  it('prints progress lines and a readable summary without --json', async () => {
    const { code, out, err } = await cli(...ws.train('plain', 2), '--log-every', '1');
    expect(code).toBe(0);
    expect(err).toMatch(/step 1\/2 \| loss \d+\.\d{3} \| lr [\d.e+-]+ \| \d+ tok\/s \| ETA \S+ \| mem [\d.]+ [KM]B/);
    expect(out).toMatch(/^Trained: .* with adamw, 2 steps/);
    expect(out).toContain('tokens/s');
  });

  it('trains with a GaLore optimizer and its flags', async () => {
    const report = await json<TrainReport>(
      ...ws.train('galore', 3),
      ...['--optimizer', 'galore_adamw', '--rank', '4', '--update-proj-gap', '2', '--galore-scale', '0.5'],
      ...['--proj-type', 'std'],
    );
    expect(report.optimizer).toBe('galore_adamw');
    expect(report.steps).toBe(3);
    expect(Number.isFinite(report.final_loss)).toBe(true);
  });

  it('trains with a layerwise optimizer, and refuses clipping with it', async () => {
    const report = await json<TrainReport>(
      ...ws.train('layerwise', 2),
      '--optimizer',
      'galore_adamw_layerwise',
      '--rank',
      '4',
    );
    expect(report.steps).toBe(2);
    const clipped = ['--optimizer', 'galore_adamw_layerwise', '--max-grad-norm', '1'];
    const refused = await cli(...ws.train('x', 2), ...clipped);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('cannot clip the global norm; use --max-grad-norm 0');
  });
});

describe('galore-ts eval, generate, plot and memory', () => {
  it('eval reports the perplexity of the latest checkpoint on --data', async () => {
    const report = await json<EvalReport>('eval', run(), '--data', DEFAULT_CORPUS, '--max-batches', '2');
    expect(report.split).toBe('all');
    expect(report.checkpoint).toBe(join(run(), 'checkpoints', 'step-00000006'));
    expect(report.batches).toBe(2);
    expect(report.tokens).toBe(2 * 2 * 16);
    expect(report.perplexity).toBeCloseTo(Math.exp(report.loss), 8);
    expect(report.loss).toBeLessThan(Math.log(258));
  });

  it('generate continues a prompt; the same seed gives the same text, temperature 0 is greedy', async () => {
    const args = ['generate', run(), '--prompt', 'KING:', '--max-new-tokens', '6', '--ignore-eos'];
    const a = await json<GenerateReport>(...args, '--seed', '3');
    const b = await json<GenerateReport>(...args, '--seed', '3');
    expect(a.new_tokens).toBe(6);
    expect(b.completion).toBe(a.completion);
    const greedy1 = await json<GenerateReport>(...args, '--temperature', '0', '--seed', '1');
    const greedy2 = await json<GenerateReport>(...args, '--temperature', '0', '--seed', '2');
    expect(greedy2.completion).toBe(greedy1.completion);
    const plain = await cli(...args);
    expect(plain.out.startsWith('KING:')).toBe(true);
  });

  it('plot writes an SVG and a PNG of the loss and perplexity curves of several runs', async () => {
    const svgPath = join(ws.dir, 'plots', 'curves.svg');
    expect((await cli('plot', run(), join(ws.dir, 'galore'), '-o', svgPath, '--title', 'micro runs')).code).toBe(0);
    const svg = await readFile(svgPath, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['micro runs', 'validation perplexity', 'train loss', 'val loss', 'run', 'galore'])
      expect(svg).toContain(text);
    const pngPath = join(ws.dir, 'curves.png');
    expect((await cli('plot', run(), '-o', pngPath)).code).toBe(0);
    const png = await readFile(pngPath);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBeGreaterThan(600); // width from the IHDR chunk, at 2x zoom
  });

  it('memory plans a training step on the meta backend', async () => {
    const plan = await plan60m('--optimizer', 'galore_adamw', '--rank', '128');
    // bf16 weights: 2 bytes per parameter.
    expect(plan.measured.weights).toBe(2 * plan.model.parameters);
    expect(plan.measured.total).toBeGreaterThan(plan.measured.weights);
  });
});

describe('galore-ts errors', () => {
  it('a wrong flag gets the usage hint and exit code 1', async () => {
    const unknown = await cli('train', '--stepz', '3');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("unknown option '--stepz'");
    expect(unknown.err).toContain('(run with --help for usage)');
    const bad = await cli('train', '--batch-size', '0');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("option '--batch-size <n>' argument '0' is invalid. expected a positive integer");
    const noCommand = await cli('fly');
    expect(noCommand.code).toBe(1);
    expect(noCommand.err).toContain("unknown command 'fly'");
  });

  it('a missing file or folder is named in a clear error', async () => {
    const missingData = await cli(
      'train',
      ...ws.tinyRun,
      '--steps',
      '1',
      '--data',
      join(ws.dir, 'nope.txt'),
      '--out',
      join(ws.dir, 'y'),
    );
    expect(missingData.code).toBe(1);
    expect(missingData.err).toMatch(/^galore-ts train: error: .*nope\.txt/);
    const missingModel = await cli('train', '--model', join(ws.dir, 'nope.json'));
    expect(missingModel.err).toContain('is neither a preset (llama_tiny, llama_small');
    const missingRun = await cli('eval', join(ws.dir, 'no-run'));
    expect(missingRun.code).toBe(1);
    expect(missingRun.err).toContain('no-run: no such folder');
    const badPlot = await cli('plot', run(), '-o', join(ws.dir, 'chart.gif'));
    expect(badPlot.err).toContain('must end in .svg or .png');
    const noMetrics = await cli('plot', ws.dir, '-o', join(ws.dir, 'c.svg'));
    expect(noMetrics.err).toContain('has no metrics.jsonl');
  });

  it('--help lists every command and exits 0', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const command of ['train', 'eval', 'generate', 'plot', 'memory']) expect(help.out).toContain(command);
  });
});
