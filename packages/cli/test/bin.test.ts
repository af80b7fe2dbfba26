/** One real launch of the executable (the in-process tests cover the commands themselves). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useMicroWorkspace } from './helpers.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/galore-ts.js', import.meta.url));

describe('the galore-ts executable', () => {
  const workspace = useMicroWorkspace('galore-bin-');

  it('launches from the sources, trains one step and exits 0', async () => {
    const args = ['train', '--model', workspace.config, '--steps', '1', '--batch-size', '1', '--seq-len', '8'];
    args.push('--eval-every', '0', '--out', join(workspace.dir, 'run'), '--json');
    const { stdout } = await run(process.execPath, [BIN, ...args], { cwd: workspace.dir });
    const report = JSON.parse(stdout) as { steps: number; final_loss: number };
    expect(report.steps).toBe(1);
    expect(report.final_loss).toBeGreaterThan(0);
  });
});
