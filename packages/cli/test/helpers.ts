/** A model small enough that every command takes well under a second, and ways to run the CLI in-process. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { useTempDir } from '../../core/test/helpers/temp-dir.js';
import { MICRO_LLAMA } from '../../core/test/train/helpers.js';
import { main, memoryIO } from '../src/index.js';

/** The core tests' micro LLaMA (vocab 258 for the byte tokenizer). */
export const MICRO = MICRO_LLAMA;

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function cli(...argv: string[]): Promise<CliResult> {
  const io = memoryIO();
  const code = await main(argv, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

/** Runs with --json and parses the report; a non-zero exit throws with stderr. */
export async function json<T>(...argv: string[]): Promise<T> {
  const { code, out, err } = await cli(...argv, '--json');
  if (code !== 0) throw new Error(`galore-ts ${argv.join(' ')} exited ${code}: ${err}`);
  return JSON.parse(out) as T;
}

export interface Workspace {
  dir: string;
  config: string;
  tinyRun: string[];
  /** `train` of the micro model for `steps` steps into run folder `out`, saved at the end, no evaluation. */
  train(out: string, steps: number): string[];
}

/**
 * A temporary folder holding micro.json, made before the file's tests and removed after them;
 * `tinyRun` trains the micro model on 2 x 16-token batches. Read its fields inside tests.
 */
export function useMicroWorkspace(prefix: string): Workspace {
  const tmp = useTempDir(prefix);
  const workspace = {} as Workspace;
  beforeAll(async () => {
    const config = join(tmp.path, 'micro.json');
    await writeFile(config, JSON.stringify(MICRO));
    const tinyRun = ['--model', config, '--batch-size', '2', '--seq-len', '16', '--eval-batches', '1', '--lr', '0.01'];
    const train = (out: string, steps: number) => {
      const schedule = ['--steps', String(steps), '--eval-every', '0', '--save-every', String(steps)];
      return ['train', ...tinyRun, ...schedule, '--out', join(tmp.path, out)];
    };
    Object.assign(workspace, { dir: tmp.path, config, tinyRun, train });
  });
  return workspace;
}

/** What `memory --json` prints, as far as the tests read it. */
export interface PlanJson {
  measured: { total: number; weights: number; optimizer: number };
  model: { parameters: number };
}

/** `galore-ts memory` of llama_60m at 64 tokens (a plan in well under a second), with more flags. */
export function plan60m(...flags: string[]): Promise<PlanJson> {
  return json<PlanJson>('memory', '--model', 'llama_60m', '--seq-len', '64', ...flags);
}
