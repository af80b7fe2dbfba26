/**
 * One row of training metrics per optimizer step (snake_case, as Hugging Face's trainer logs),
 * and a JSONL writer for them.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { atomicWriteFile } from '../io/atomic-write.js';

export interface MetricsRow {
  /** The optimizer step just completed (1-based). */
  step: number;
  /** Mean training loss of the step's micro-batches. */
  loss: number;
  /** The learning rate this step used (of the first parameter group). */
  lr: number;
  /** Training tokens of this step per second of its wall time. */
  tokens_per_s: number;
  /** Training tokens consumed so far. */
  tokens: number;
  /** Training time so far in seconds (evaluation and checkpoints excluded). */
  elapsed_s: number;
  /** Global gradient norm before clipping (absent when not clipping). */
  grad_norm?: number;
  /** Peak bytes the backend's tracker saw during the step. */
  peak_memory_bytes: number;
  /** Validation loss and perplexity, on steps that evaluated. */
  val_loss?: number;
  val_ppl?: number;
}

/** Appends metrics rows to a JSONL file, one JSON object per line. */
export class JsonlMetricsWriter {
  private constructor(readonly path: string) {}

  /**
   * Opens `path` for appending. `keepUpTo` (a resumed step) drops rows of later steps, which an
   * interrupted run wrote after its last checkpoint and the resumed run will write again;
   * without it the file starts empty.
   */
  static async open(path: string, options: { keepUpTo?: number } = {}): Promise<JsonlMetricsWriter> {
    await mkdir(dirname(path), { recursive: true });
    if (options.keepUpTo === undefined) {
      await writeFile(path, '');
    } else {
      const rows = await readMetrics(path).catch(() => []);
      const kept = rows.filter((r) => r.step <= options.keepUpTo!);
      await atomicWriteFile(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
    return new JsonlMetricsWriter(path);
  }

  async write(row: MetricsRow): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(row)}\n`);
  }
}

/** Reads a metrics JSONL file; a torn last line (a crash mid-append) is skipped. */
export async function readMetrics(file: string): Promise<MetricsRow[]> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const rows: MetricsRow[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      const row = JSON.parse(line) as MetricsRow;
      if (typeof row !== 'object' || row === null || typeof row.step !== 'number') {
        throw new Error('a row must be an object with a numeric "step"');
      }
      rows.push(row);
    } catch (error) {
      if (i === lines.length - 1) break;
      throw new Error(`${file}: line ${i + 1} is not a metrics row (${(error as Error).message})`);
    }
  }
  return rows;
}
