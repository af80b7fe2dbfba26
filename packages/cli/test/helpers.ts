/** Runs the galore-ts command in-process for the CLI tests. */
import { main, memoryIO } from '../src/index.js';

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO();
  const code = await main(argv, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

/** Runs with --json and parses the output; a non-zero exit is an error with the command's stderr. */
export async function json<T>(...argv: string[]): Promise<T> {
  const { code, out, err } = await cli(...argv, '--json');
  if (code !== 0) throw new Error(`galore-ts ${argv.join(' ')} exited ${code}: ${err}`);
  return JSON.parse(out) as T;
}
