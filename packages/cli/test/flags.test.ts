/**
 * Issue 9 items 15 and 16 (CLI): the rank a GaLore run used is recorded, --optim-dtype,
 * train --gradient-checkpointing, memory --paper, --dtype spelled as train spells it, and errors
 * that name flags rather than library options.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTensors, readMetrics } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import type { PaperComparison } from '../src/commands/memory-paper.js';
import { cli, json, plan60m, useMicroWorkspace } from './helpers.js';

const ws = useMicroWorkspace('galore-flags-');
const short = ['--steps', '2', '--eval-every', '0', '--save-every', '2'];

async function runSettings(run: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(run, 'run.json'), 'utf8')).settings;
}

describe('train flags', () => {
  it('records the rank a GaLore run used when --rank is not given, and prints it', async () => {
    const run = join(ws.dir, 'rank');
    const result = await cli('train', ...ws.tinyRun, ...short, '--optimizer', 'galore_adamw', '--out', run);
    expect(result.code).toBe(0);
    const state = JSON.parse(await readFile(join(run, 'checkpoints', 'step-00000002', 'trainer_state.json'), 'utf8'));
    const used = state.optimizer.groups.find((g: { rank?: number }) => g.rank !== undefined).rank;
    expect((await runSettings(run)).rank).toBe(used);
    expect(result.err).toContain(`galore_adamw, rank ${used}, lr`);
  });

  it('--optim-dtype bfloat16 keeps galore_adamw moments in bf16; other optimizers refuse it', async () => {
    const run = join(ws.dir, 'bf16-state');
    const galore = ['--optimizer', 'galore_adamw', '--rank', '4', '--optim-dtype', 'bfloat16'];
    await json('train', ...ws.tinyRun, ...short, ...galore, '--out', run);
    const tensors = await loadTensors(join(run, 'checkpoints', 'step-00000002', 'optimizer.safetensors'));
    const moments = Object.entries(tensors).filter(([k]) => /\.exp_avg(_sq)?$/.test(k));
    expect(moments.length).toBeGreaterThan(0);
    for (const [, t] of moments) expect(t.dtype).toBe('bfloat16');
    for (const t of Object.values(tensors)) t.dispose();
    const refused = await cli(
      'train',
      ...ws.tinyRun,
      ...short,
      '--optim-dtype',
      'bfloat16',
      '--out',
      join(ws.dir, 'no'),
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("--optim-dtype applies to galore_adamw and galore_adamw_layerwise, not 'adamw'");
  });

  it('--gradient-checkpointing recomputes activations and trains the same losses', async () => {
    await json('train', ...ws.tinyRun, ...short, '--out', join(ws.dir, 'plain'));
    await json('train', ...ws.tinyRun, ...short, '--gradient-checkpointing', '--out', join(ws.dir, 'recompute'));
    const losses = async (run: string) => (await readMetrics(join(ws.dir, run, 'metrics.jsonl'))).map((r) => r.loss);
    expect(await losses('recompute')).toEqual(await losses('plain'));
    expect((await runSettings(join(ws.dir, 'recompute'))).gradientCheckpointing).toBe(true);
  });

  it('errors name the flags, not the library options', async () => {
    const held = ['--eval-every', '1', '--eval-batches', '100000'];
    const result = await cli('train', ...ws.tinyRun, '--steps', '1', ...held, '--out', join(ws.dir, 'big'));
    expect(result.code).toBe(1);
    expect(result.err).toContain('--eval-batches x --batch-size');
    expect(result.err).toContain('--seq-len');
    expect(result.err).not.toMatch(/\bvalidationSequences\b|\bseqLen\b/);
  });
});

describe('galore-ts memory', () => {
  it("--paper prints the paper's three reductions beside ours", async () => {
    const args = ['memory', '--paper', '--model', 'llama_60m', '--rank', '128', '--seq-len', '64'];
    const comparison = await json<PaperComparison>(...args);
    expect(comparison.claims.map((c) => c.paper)).toEqual([0.655, 0.825, 0.633]);
    for (const c of comparison.claims) {
      expect(c.ours).toBeGreaterThan(0);
      expect(c.ours).toBeLessThan(1);
    }
    const text = await cli(...args);
    expect(text.out).toContain('65.5%');
    expect(text.out).toContain('82.5%');
    expect(text.out).toContain('63.3%');
    const refused = await cli(...args, '--optimizer', 'adamw', '--method', 'lora');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('--optimizer, --method cannot be used with --paper');
  });

  it('takes --dtype as train spells it, and --optim-dtype', async () => {
    const plan = await plan60m('--optimizer', 'adamw', '--dtype', 'float32');
    expect(plan.measured.weights).toBe(4 * plan.model.parameters);
    const galore = ['--optimizer', 'galore_adamw', '--rank', '128'];
    const f32 = await plan60m(...galore);
    const bf16 = await plan60m(...galore, '--optim-dtype', 'bfloat16');
    expect(bf16.measured.optimizer).toBeLessThan(f32.measured.optimizer);
  });
});
