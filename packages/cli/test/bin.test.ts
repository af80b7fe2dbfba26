/** One real launch of the executable (the in-process tests cover the commands themselves). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/galore-ts.js', import.meta.url));

describe('the galore-ts executable', () => {
  it('launches from the sources, trains one step and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'galore-bin-'));
    try {
      const config = join(dir, 'micro.json');
      await writeFile(
        config,
        JSON.stringify({
          vocab_size: 258,
          hidden_size: 8,
          intermediate_size: 16,
          num_attention_heads: 2,
          num_hidden_layers: 1,
          max_position_embeddings: 32,
        }),
      );
      const args = [
        'train',
        '--model',
        config,
        '--steps',
        '1',
        '--batch-size',
        '1',
        '--seq-len',
        '8',
        '--eval-every',
        '0',
        '--out',
        join(dir, 'run'),
        '--json',
      ];
      const { stdout } = await run(process.execPath, [BIN, ...args], { cwd: dir });
      const report = JSON.parse(stdout) as { steps: number; final_loss: number };
      expect(report.steps).toBe(1);
      expect(report.final_loss).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
