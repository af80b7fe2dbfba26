/** The train-tiny example runs as a user would copy it, on fewer steps. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { trainTiny } from '../../examples/train-tiny.js';

it('examples/train-tiny.ts trains, evaluates and checkpoints llama_tiny', async () => {
  const out = await mkdtemp(join(tmpdir(), 'galore-example-'));
  try {
    const lines: string[] = [];
    const summary = await trainTiny({ steps: 2, out, log: (line) => lines.push(line) });
    expect(summary).toMatchObject({ stopReason: 'completed', steps: 2, tokens: 2 * 8 * 64 });
    expect(summary.finalLoss).toBeLessThan(Math.log(258));
    expect(summary.finalValPpl).toBeCloseTo(Math.exp(summary.finalValLoss!), 8);
    expect(await readdir(join(out, 'checkpoints'))).toContain('step-00000002');
    expect(lines.at(-1)).toMatch(/^done: 2 steps, final loss \d\.\d{3}, checkpoint /);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 120_000);
