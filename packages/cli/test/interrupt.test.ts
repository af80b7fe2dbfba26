/**
 * Issue 9 item 11: Ctrl-C (SIGINT) or SIGTERM finishes the step under way, writes a checkpoint,
 * exits 130 with the command that resumes; a second signal exits at once. Tested on the real
 * executable, by sending it the signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readMetrics } from '@galore-ts/core';
import { describe, expect, it, vi } from 'vitest';
import { memoryIO } from '../src/index.js';
import { handleInterrupts } from '../src/interrupt.js';
import { TrainingProgress } from '../src/progress.js';
import { json, useMicroWorkspace } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/galore-ts.js', import.meta.url));
const ws = useMicroWorkspace('galore-signal-');

/** A constant schedule: a long run's first steps are then those of a short run with the same flags. */
const CONSTANT = ['--warmup', '0', '--min-lr-ratio', '1', '--eval-every', '0'];

/** Starts a long training run and resolves once it has logged `steps` steps. */
function startTraining(
  out: string,
  steps: number,
  model: string[] = ws.tinyRun,
): { child: ChildProcess; ready: Promise<void>; exit: Promise<number | null>; stderr: () => string } {
  const args = [
    'train',
    ...model,
    ...CONSTANT,
    '--steps',
    '100000',
    '--save-every',
    '100000',
    '--log-every',
    '1',
    '--out',
    out,
  ];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const ready = new Promise<void>((resolve) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes(`step ${steps}/`)) resolve();
    });
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exit, stderr: () => err };
}

describe('a signal during training', () => {
  it('SIGINT: the step finishes, a checkpoint is written, exit 130 with how to resume; the resumed run is exact', async () => {
    const out = join(ws.dir, 'int');
    const run = startTraining(out, 2);
    await run.ready;
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    const err = run.stderr();
    expect(err).toContain('SIGINT: stopping after the current step and writing a checkpoint');
    expect(err).toContain(`continue with: galore-ts train --out ${out} --resume`);
    const rows = await readMetrics(join(out, 'metrics.jsonl'));
    const last = rows.at(-1)!.step;
    expect(err).toContain(`checkpoint ${join(out, 'checkpoints', `step-${String(last).padStart(8, '0')}`)}`);
    const resumed = await json<{ resumed_from: string; steps: number }>(
      'train',
      '--resume',
      '--out',
      out,
      '--steps',
      String(last + 1),
    );
    expect(resumed.steps).toBe(last + 1);
    // Resumed exactly: loss for loss the run that was never interrupted.
    const straight = join(ws.dir, 'straight');
    await json('train', ...ws.tinyRun, ...CONSTANT, '--steps', String(last + 1), '--out', straight);
    const losses = async (run: string) => (await readMetrics(join(run, 'metrics.jsonl'))).map((r) => r.loss);
    expect(await losses(out)).toEqual(await losses(straight));
  }, 60_000);

  it('a second SIGTERM exits at once', async () => {
    // llama_tiny's steps take long enough that the second signal lands while one is under way.
    const run = startTraining(join(ws.dir, 'term'), 1, ['--model', 'llama_tiny']);
    await run.ready;
    run.child.kill('SIGTERM');
    // Signals sent back to back may be delivered as one: send the second once the first is seen.
    while (!run.stderr().includes('SIGTERM: stopping')) await new Promise((r) => setTimeout(r, 10));
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(130);
    expect(run.stderr()).toContain('SIGTERM again: exiting now');
  }, 60_000);
});

describe('the terminal after a second Ctrl-C', () => {
  it('gets its cursor back: the progress bar is stopped before the process exits', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    let drawn = '';
    stream.on('data', (chunk: Buffer) => {
      drawn += chunk.toString();
    });
    const io = { ...memoryIO(), interactive: true, progressStream: stream };
    const progress = new TrainingProgress(io, { totalSteps: 10, startStep: 0, logEvery: 1 });
    const stopped: string[] = [];
    const remove = handleInterrupts(io, { stop: () => stopped.push('stop'), abort: () => progress.stop() });
    try {
      expect(drawn).toContain('\x1b[?25l'); // the bar hides the cursor while it draws
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGINT', 'SIGINT');
      expect(stopped).toEqual(['stop']);
      expect(drawn).toContain('\x1b[?25h');
      expect(exit).toHaveBeenCalledWith(130);
    } finally {
      remove();
      exit.mockRestore();
    }
  });
});
