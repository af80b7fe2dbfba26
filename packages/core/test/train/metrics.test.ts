import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlMetricsWriter, type MetricsRow, readMetrics } from '../../src/index.js';
import { withTempDir } from './helpers.js';

const row = (step: number): MetricsRow => ({
  step,
  loss: 5 - step / 10,
  lr: 0.001,
  tokens_per_s: 100,
  tokens: step * 64,
  elapsed_s: step,
  peak_memory_bytes: 1024,
});

describe('metrics JSONL', () => {
  it('writes one JSON object per line and reads them back', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'run', 'metrics.jsonl');
      const writer = await JsonlMetricsWriter.open(path);
      await writer.write(row(1));
      await writer.write({ ...row(2), val_loss: 4.5, val_ppl: Math.exp(4.5) });
      const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l).step)).toEqual([1, 2]);
      expect(await readMetrics(path)).toEqual([row(1), { ...row(2), val_loss: 4.5, val_ppl: Math.exp(4.5) }]);
    });
  });

  it('on resume keeps the rows up to the resumed step and drops the later ones an interrupted run wrote', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'metrics.jsonl');
      const first = await JsonlMetricsWriter.open(path);
      for (const s of [1, 2, 3, 4, 5]) await first.write(row(s));
      const resumed = await JsonlMetricsWriter.open(path, { keepUpTo: 3 });
      await resumed.write(row(4));
      expect((await readMetrics(path)).map((r) => r.step)).toEqual([1, 2, 3, 4]);
      // A fresh (not resumed) run starts the file anew.
      await JsonlMetricsWriter.open(path);
      expect(await readMetrics(path)).toEqual([]);
    });
  });

  it('skips a torn last line but reports a bad line in the middle', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'metrics.jsonl');
      const writer = await JsonlMetricsWriter.open(path);
      await writer.write(row(1));
      await appendFile(path, '{"step": 2, "lo');
      expect((await readMetrics(path)).map((r) => r.step)).toEqual([1]);
      await appendFile(path, '\n{"step": 3}\n');
      await expect(readMetrics(path)).rejects.toThrow(/metrics\.jsonl: line 2 is not a metrics row/);
    });
  });

  it('on resume keeps every readable row around a bad line, reports it, and backs the file up', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'metrics.jsonl');
      const first = await JsonlMetricsWriter.open(path);
      await first.write(row(1));
      await appendFile(path, 'garbage\n');
      for (const s of [2, 3, 4]) await first.write(row(s));
      const original = await readFile(path, 'utf8');
      const resumed = await JsonlMetricsWriter.open(path, { keepUpTo: 3 });
      expect((await readMetrics(path)).map((r) => r.step)).toEqual([1, 2, 3]);
      expect(resumed.badLines).toEqual([{ line: 2, reason: expect.stringContaining('JSON') }]);
      expect(resumed.backup).toBe(`${path}.bak`);
      expect(await readFile(`${path}.bak`, 'utf8')).toBe(original);
    });
  });
});
