/**
 * Ctrl-C and SIGTERM during training: the first asks the trainer to stop after the step under way
 * (which is then checkpointed); a second one exits at once, after restoring the terminal.
 */
import type { CliIO } from './io.js';

/** The conventional exit status of a process stopped by SIGINT (128 + 2). */
export const INTERRUPTED_EXIT_CODE = 130;

export interface InterruptHandlers {
  /** Called on the first signal. */
  stop: () => void;
  /** Called before exiting on the second signal (restores the terminal). */
  abort: () => void;
}

/** Installs the handlers until the returned function is called. */
export function handleInterrupts(io: CliIO, handlers: InterruptHandlers): () => void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      handlers.abort();
      io.stderr(`\n${signal} again: exiting now, without a checkpoint of the current step\n`);
      process.exit(INTERRUPTED_EXIT_CODE);
      return;
    }
    signalled = true;
    handlers.stop();
    io.stderr(
      `\n${signal}: stopping after the current step and writing a checkpoint (press Ctrl-C again to exit at once)\n`,
    );
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/** Ends the command with `exitCode` and `message` (not an error: the work so far is saved). */
export class CommandExit extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CommandExit';
  }
}
