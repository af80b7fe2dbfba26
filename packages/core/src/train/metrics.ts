/**
 * One row of training metrics per optimizer step (snake_case, as Hugging Face's trainer logs),
 * and a JSONL writer for them.
 */
import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
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

/** A line of a metrics file that is not a metrics row. */
export interface BadMetricsLine {
  /** 1-based line number. */
  line: number;
  reason: string;
}

/** Appends metrics rows to a JSONL file, one JSON object per line. */
export class JsonlMetricsWriter {
  private constructor(
    readonly path: string,
    /** Lines a resume could not read; the file as it was is kept at `backup`. */
    readonly badLines: readonly BadMetricsLine[] = [],
    readonly backup: string | null = null,
  ) {}

  /**
   * Opens `path` for appending. `keepUpTo` (a resumed step) drops rows of later steps, which an
   * interrupted run wrote after its last checkpoint and the resumed run will write again;
   * without it the file starts empty. Unreadable lines are left out of the rewritten file and
   * listed in `badLines`, and the file as it was is copied to `<path>.bak` first, so nothing is lost.
   */
  static async open(path: string, options: { keepUpTo?: number } = {}): Promise<JsonlMetricsWriter> {
    await mkdir(dirname(path), { recursive: true });
    if (options.keepUpTo === undefined) {
      await writeFile(path, '');
      return new JsonlMetricsWriter(path);
    }
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    const { rows, bad } = parseMetrics(text);
    const backup = bad.length > 0 ? `${path}.bak` : null;
    if (backup) await copyFile(path, backup);
    const kept = rows.filter((r) => r.step <= options.keepUpTo!);
    await atomicWriteFile(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return new JsonlMetricsWriter(path, bad, backup);
  }

  async write(row: MetricsRow): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(row)}\n`);
  }
}

/**
 * Every readable row of a metrics JSONL text, and the lines that are not rows, except a torn last
 * line: that is what a crash mid-append leaves, and it is skipped silently.
 */
export function parseMetrics(text: string): { rows: MetricsRow[]; bad: BadMetricsLine[] } {
  const rows: MetricsRow[] = [];
  const bad: BadMetricsLine[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (const [i, line] of lines.entries()) {
    try {
      const row = JSON.parse(line) as MetricsRow;
      if (typeof row !== 'object' || row === null || typeof row.step !== 'number') {
        throw new Error('a row must be an object with a numeric "step"');
      }
      rows.push(row);
    } catch (error) {
      if (i < lines.length - 1) bad.push({ line: i + 1, reason: (error as Error).message });
    }
  }
  return { rows, bad };
}

/** Reads a metrics JSONL file; a torn last line (a crash mid-append) is skipped, any other bad line throws. */
export async function readMetrics(file: string): Promise<MetricsRow[]> {
  const text = await readFile(file, 'utf8');
  const { rows, bad } = parseMetrics(text);
  const first = bad[0];
  if (first) throw new Error(`${file}: line ${first.line} is not a metrics row (${first.reason})`);
  return rows;
}
