/**
 * Issue 9 item 2: a flag given with --resume is honoured from the next step on or refused, never
 * printed, written to run.json and then dropped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readMetrics } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { cli, json, MICRO, useMicroWorkspace } from './helpers.js';

const ws = useMicroWorkspace('galore-resume-');
// A constant schedule (no warmup, floor 1), so each step's lr is the peak.
const constant = ['--warmup', '0', '--min-lr-ratio', '1', '--eval-every', '0', '--save-every', '2'];

describe('train --resume with flags', () => {
  it('honours --lr, --weight-decay, --update-proj-gap and --galore-scale from the next step', async () => {
    const run = join(ws.dir, 'honoured');
    const galore = ['--optimizer', 'galore_adamw', '--rank', '4', '--update-proj-gap', '2'];
    await json('train', ...ws.tinyRun, ...galore, ...constant, '--steps', '2', '--out', run);
    const changed = ['--lr', '0.001', '--weight-decay', '0.1', '--update-proj-gap', '3', '--galore-scale', '0.5'];
    await json('train', '--resume', '--out', run, '--steps', '4', ...changed);
    const rows = await readMetrics(join(run, 'metrics.jsonl'));
    expect(rows.map((r) => r.lr)).toEqual([0.01, 0.01, 0.001, 0.001]);
    const runJson = JSON.parse(await readFile(join(run, 'run.json'), 'utf8'));
    expect(runJson.settings).toMatchObject({ lr: 0.001, weightDecay: 0.1, updateProjGap: 3, galoreScale: 0.5 });
    const state = JSON.parse(await readFile(join(run, 'checkpoints', 'step-00000004', 'trainer_state.json'), 'utf8'));
    const projected = state.optimizer.groups.find((g: { rank?: number }) => g.rank !== undefined);
    expect(projected).toMatchObject({ weightDecay: 0.1, updateProjGap: 3, scale: 0.5 });
    expect(state.scheduler.baseLrs).toEqual([0.001, 0.001]);
  });

  it('continues the warmup + cosine schedule at its step with the new peak', async () => {
    const run = join(ws.dir, 'cosine');
    const schedule = ['--warmup', '2', '--min-lr-ratio', '0.1', '--eval-every', '0', '--save-every', '2'];
    await json('train', ...ws.tinyRun, ...schedule, '--steps', '6', '--out', join(ws.dir, 'cosine-straight'));
    await json('train', ...ws.tinyRun, ...schedule, '--steps', '2', '--out', run);
    await json('train', '--resume', '--out', run, '--steps', '6', '--lr', '0.005');
    const straight = await readMetrics(join(ws.dir, 'cosine-straight', 'metrics.jsonl'));
    const resumed = await readMetrics(join(run, 'metrics.jsonl'));
    for (let i = 2; i < 6; i++) expect(resumed[i]!.lr).toBeCloseTo(straight[i]!.lr / 2, 12);
  });

  it('refuses --optimizer, --rank, --model and --method changes and --steps not above the checkpoint', async () => {
    const run = join(ws.dir, 'refused');
    await json('train', ...ws.tinyRun, ...constant, '--steps', '2', '--out', run);
    const optimizer = await cli('train', '--resume', '--out', run, '--optimizer', 'galore_adamw', '--steps', '4');
    expect(optimizer.code).toBe(1);
    expect(optimizer.err).toContain('--optimizer galore_adamw cannot change on --resume');
    expect(optimizer.err).toContain('was trained with adamw');
    const model = await cli('train', '--resume', '--out', run, '--model', 'llama_tiny', '--steps', '4');
    expect(model.err).toContain('--model llama_tiny cannot change on --resume');
    const method = await cli('train', '--resume', '--out', run, '--method', 'lora', '--steps', '4');
    expect(method.code).toBe(1);
    expect(method.err).toContain('--method lora cannot change on --resume');
    const steps = await cli('train', '--resume', '--out', run, '--steps', '2');
    expect(steps.code).toBe(1);
    expect(steps.err).toContain('--steps 2');
    expect(steps.err).toContain('already at step 2');
    expect((await readMetrics(join(run, 'metrics.jsonl'))).map((r) => r.step)).toEqual([1, 2]);
  });
});

describe('train --resume with a damaged metrics.jsonl', () => {
  it('keeps every readable row and names the bad line (issue 9 item 9)', async () => {
    const run = join(ws.dir, 'metrics');
    await json('train', ...ws.tinyRun, ...constant, '--steps', '2', '--save-every', '1', '--out', run);
    const path = join(run, 'metrics.jsonl');
    const [one, two] = (await readFile(path, 'utf8')).trimEnd().split('\n');
    await writeFile(path, `${one}\nnot json\n${two}\n`);
    const result = await cli('train', '--resume', '--out', run, '--steps', '3');
    expect(result.code).toBe(0);
    expect(result.err).toContain(`warning: ${path} line 2 is not a metrics row`);
    expect((await readMetrics(path)).map((r) => r.step)).toEqual([1, 2, 3]);
    expect(await readFile(`${path}.bak`, 'utf8')).toContain('not json');
  });
});

describe('train --resume after the model config changed', () => {
  it('refuses, naming the setting that differs (issue 9 item 5)', async () => {
    const config = join(ws.dir, 'changing.json');
    await writeFile(config, JSON.stringify(MICRO));
    const run = join(ws.dir, 'config');
    const flags = ws.tinyRun.map((f) => (f === ws.tinyRun[1] ? config : f));
    await json('train', ...flags, ...constant, '--steps', '2', '--out', run);
    await writeFile(config, JSON.stringify({ ...MICRO, intermediate_size: 48 }));
    const result = await cli('train', '--resume', '--out', run, '--steps', '4');
    expect(result.code).toBe(1);
    expect(result.err).toContain('config.json does not match the model being trained');
    expect(result.err).toContain('intermediate_size 32 in the checkpoint, 48 in the model');
  });

  it('resumes a layerwise GaLore run (its state is checked by a step on the meta backend)', async () => {
    const run = join(ws.dir, 'layerwise');
    const layerwise = ['--optimizer', 'galore_adamw_8bit_layerwise', '--rank', '4'];
    await json('train', ...ws.tinyRun, ...layerwise, ...constant, '--steps', '2', '--out', run);
    const report = await json<{ steps: number }>('train', '--resume', '--out', run, '--steps', '3');
    expect(report.steps).toBe(3);
  });
});

describe('a learning rate that blows the weights up (issue 9 items 2 and 6)', () => {
  it('is stopped before a non-finite checkpoint; the advised resume with a lower --lr works', async () => {
    const run = join(ws.dir, 'blowup');
    await json('train', ...ws.tinyRun, ...constant, '--steps', '2', '--save-every', '1', '--out', run);
    const blown = await cli('train', '--resume', '--out', run, '--steps', '4', '--lr', '1e39');
    expect(blown.code).toBe(1);
    const good = join(run, 'checkpoints', 'step-00000002');
    expect(blown.err).toMatch(/training stopped at step 3: the weight \S+ holds (-?Infinity|NaN) \(not finite\)/);
    expect(blown.err).toContain(`the last good checkpoint is ${good}`);
    expect(blown.err).toContain(`galore-ts train --out ${run} --resume ${good} --lr 1e+38`);
    const advised = await json<{ steps: number }>(
      'train',
      '--out',
      run,
      '--resume',
      good,
      '--steps',
      '4',
      '--lr',
      '0.001',
    );
    expect(advised.steps).toBe(4);
  });
});
