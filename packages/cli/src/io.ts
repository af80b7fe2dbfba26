/**
 * Where a command writes. The real command uses the process streams; tests pass collectors, so
 * `main(argv, io)` runs in-process without touching the terminal.
 */
export interface CliIO {
  /** Results: text, or JSON with --json. */
  stdout: (text: string) => void;
  /** Progress, logs and errors. */
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (draws a live progress bar instead of log lines). */
  interactive: boolean;
  /** The stream a live progress bar draws on (only used when interactive). */
  progressStream?: NodeJS.WritableStream;
}

export function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: process.stderr.isTTY === true,
    progressStream: process.stderr,
  };
}

/** Collects everything written, for tests. */
export function memoryIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    interactive: false,
  };
}
