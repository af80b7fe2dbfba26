/**
 * The `galore-ts` command. `main(argv, io)` runs it in-process and resolves to the exit code, so
 * tests drive it without spawning; bin.ts wires it to the process.
 */
import { Command, CommanderError } from 'commander';
import { evalCommand } from './commands/eval.js';
import { generateCommand } from './commands/generate.js';
import { glueCommand } from './commands/glue.js';
import { memoryCommand } from './commands/memory.js';
import { mergeCommand } from './commands/merge.js';
import { plotCommand } from './commands/plot.js';
import { trainCommand } from './commands/train.js';
import { inFlagTerms } from './flag-names.js';
import { CommandExit } from './interrupt.js';
import { type CliIO, processIO } from './io.js';
import { packageVersion } from './paths.js';

export function buildProgram(io: CliIO): Command {
  const program = new Command('galore-ts')
    .description('Train LLaMA-style language models from Node.js with full-parameter learning and GaLore.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const command of [
    trainCommand(io),
    evalCommand(io),
    generateCommand(io),
    plotCommand(io),
    memoryCommand(io),
    mergeCommand(io),
    glueCommand(io),
  ]) {
    program.addCommand(
      command
        .exitOverride()
        .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
        .showHelpAfterError('(run with --help for usage)'),
    );
  }
  return program;
}

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Usage errors were already printed with the usage hint; --help and --version exit 0.
      return error.exitCode;
    }
    if (error instanceof CommandExit) {
      io.stderr(`${error.message}\n`);
      return error.exitCode;
    }
    const command = program.args[0] ?? '';
    io.stderr(`galore-ts${command ? ` ${command}` : ''}: error: ${inFlagTerms((error as Error).message)}\n`);
    return 1;
  }
}
