/** Issue 9 items 3 and 12: `train --out` refuses to write over a run, and checks the folder at start. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readMetrics } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { runFileError } from '../src/commands/run-folder.js';
import { cli, json, useMicroWorkspace } from './helpers.js';

const ws = useMicroWorkspace('galore-folder-');
const short = ['--steps', '2', '--eval-every', '0', '--save-every', '1'];

describe('train --out', () => {
  it('refuses a folder that holds a run unless --resume or --overwrite, and --overwrite starts clean', async () => {
    const run = join(ws.dir, 'a');
    await json('train', ...ws.tinyRun, ...short, '--out', run);
    const again = await cli('train', ...ws.tinyRun, '--steps', '1', '--eval-every', '0', '--out', run);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`--out ${run} already holds a run`);
    expect(again.err).toContain('--resume');
    expect(again.err).toContain('--overwrite');
    expect((await readMetrics(join(run, 'metrics.jsonl'))).map((r) => r.step)).toEqual([1, 2]);

    await json('train', ...ws.tinyRun, '--steps', '1', '--eval-every', '0', '--out', run, '--overwrite');
    expect((await readMetrics(join(run, 'metrics.jsonl'))).map((r) => r.step)).toEqual([1]);
    expect((await readdir(join(run, 'checkpoints'))).sort()).toEqual(['latest', 'step-00000001']);

    const both = await cli('train', '--resume', '--overwrite', '--out', run, '--steps', '3');
    expect(both.code).toBe(1);
    expect(both.err).toContain('--overwrite replaces a run and --resume continues one');
  });

  it('reports a `checkpoints` file, or an --out file, before training', async () => {
    const run = join(ws.dir, 'b');
    await mkdir(run);
    await writeFile(join(run, 'checkpoints'), 'not a folder');
    const result = await cli('train', ...ws.tinyRun, ...short, '--out', run);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${join(run, 'checkpoints')} is a file, not a folder`);
    expect(await readdir(run)).toEqual(['checkpoints']);

    const file = join(ws.dir, 'c.txt');
    await writeFile(file, '');
    const onFile = await cli('train', ...ws.tinyRun, ...short, '--out', file);
    expect(onFile.err).toContain(`--out: ${file} is a file, not a folder`);
  });
});

describe('a full disk while writing run.json or metrics.jsonl (issue 9 item 12)', () => {
  it('names the file and the intact checkpoint', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const error = runFileError(full, '/runs/a/metrics.jsonl', '/runs/a/checkpoints/step-00000002') as Error;
    expect(error.message).toBe(
      'cannot write /runs/a/metrics.jsonl: ENOSPC: no space left on device, write; the last intact checkpoint is /runs/a/checkpoints/step-00000002',
    );
    const other = new Error('something else');
    expect(runFileError(other, '/runs/a/run.json', null)).toBe(other);
  });
});
