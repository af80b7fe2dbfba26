/**
 * Training progress: a live bar (cli-progress) on a terminal, plain log lines otherwise (CI, pipes,
 * tests). Both show the step, loss, tokens/s, ETA and tracked memory.
 */

import type { MetricsRow } from '@galore-ts/core';
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.js';
import type { CliIO } from './io.js';

export interface ProgressOptions {
  totalSteps: number;
  /** Steps already done (a resumed run). */
  startStep: number;
  /** Non-interactive output: one line every this many steps (and on evaluations). */
  logEvery: number;
}

export class TrainingProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly started = performance.now();
  private lastVal = '';

  constructor(
    private readonly io: CliIO,
    private readonly options: ProgressOptions,
  ) {
    if (io.interactive && io.progressStream) {
      this.bar = new cliProgress.SingleBar(
        {
          format: 'step {value}/{total} {bar} loss {loss}{val} | {tps} tok/s | ETA {remaining} | mem {mem}',
          stream: io.progressStream,
          hideCursor: true,
          barsize: 24,
          fps: 4,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(options.totalSteps, options.startStep, { loss: '-', val: '', tps: '-', remaining: '-', mem: '-' });
    }
  }

  update(row: MetricsRow): void {
    if (row.val_loss !== undefined) this.lastVal = ` | val ${row.val_loss.toFixed(3)} (ppl ${row.val_ppl!.toFixed(2)})`;
    const payload = {
      loss: row.loss.toFixed(3),
      val: this.lastVal,
      tps: row.tokens_per_s.toFixed(0),
      remaining: formatDuration(this.secondsLeft(row.step)),
      mem: formatBytes(row.peak_memory_bytes),
    };
    if (this.bar) {
      this.bar.update(row.step, payload);
      return;
    }
    const due =
      row.step % this.options.logEvery === 0 || row.step === this.options.totalSteps || row.val_loss !== undefined;
    if (!due) return;
    const val =
      row.val_loss !== undefined ? ` | val_loss ${row.val_loss.toFixed(4)} | val_ppl ${row.val_ppl!.toFixed(2)}` : '';
    this.io.stderr(
      `step ${row.step}/${this.options.totalSteps} | loss ${payload.loss} | lr ${row.lr.toExponential(2)} | ${payload.tps} tok/s | ETA ${payload.remaining} | mem ${payload.mem}${val}\n`,
    );
  }

  /** A message between updates (a checkpoint was saved); shown as a line when not drawing a bar. */
  note(text: string): void {
    if (!this.bar) this.io.stderr(`${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
  }

  private secondsLeft(step: number): number {
    const done = step - this.options.startStep;
    if (done <= 0) return Number.NaN;
    const perStep = (performance.now() - this.started) / 1000 / done;
    return perStep * (this.options.totalSteps - step);
  }
}
