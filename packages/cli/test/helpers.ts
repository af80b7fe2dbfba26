/** A model small enough that every command takes well under a second, and ways to run the CLI in-process. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, memoryIO } from '../src/index.js';

export const MICRO = {
  vocab_size: 258,
  hidden_size: 16,
  intermediate_size: 32,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  max_position_embeddings: 64,
};

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

/** A temporary folder holding micro.json; `tinyRun` trains the micro model on 2 x 16-token batches. */
export async function microWorkspace(prefix: string): Promise<{ dir: string; config: string; tinyRun: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const config = join(dir, 'micro.json');
  await writeFile(config, JSON.stringify(MICRO));
  const tinyRun = ['--model', config, '--batch-size', '2', '--seq-len', '16', '--eval-batches', '1', '--lr', '0.01'];
  return { dir, config, tinyRun };
}
