/**
 * The bench's command line: plans the Table 4 runs, runs each through `galore-ts glue` in-process
 * (the command a user would type, so the bench trains exactly as the CLI does), and prints our
 * scores beside the paper's.
 */
import { parseArgs } from 'node:util';
import { type CliIO, type GlueEvaluation, main } from '../../packages/cli/src/index.js';
import { nonNegativeInteger, positiveInteger } from '../../packages/cli/src/parse.js';
import { TABLE4_METHODS, TABLE4_TASKS, type Table4Method, type Table4Task } from './paper.js';
import { commandLine, formatPlan, type PlannedRun, planRuns } from './plan.js';
import { formatTable, type RunFailure, type RunResult, runResult, tableRows } from './report.js';

export const USAGE = `usage: npm run bench:glue-table4 -- --glue <dir> --model <roberta-base folder> [options]

GaLore's Table 4 (RoBERTa-base on GLUE): GaLore r=4/8, LoRA r=4/8 and full fine-tuning at the
paper's hyper-parameters, our scores and peak memory beside the paper's.

  --glue <dir>         GLUE's folder as downloaded (glue_data, holding CoLA/, SST-2/ ...)
  --model <folder>     roberta-base as a Hugging Face folder (config.json, model.safetensors, tokenizer.json)
  --tasks <list>       tasks to run (default: ${TABLE4_TASKS.join(',')})
  --methods <list>     Table 4 rows to run (default: ${TABLE4_METHODS.join(',')})
  --epochs <n>         every run's epochs instead of the paper's
  --max-seq-len <n>    every run's sequence length instead of the paper's 512
  --seed <n>           seed of every run (default: 1234, the authors' README example)
  --backend <name>     compute backend passed to every run (default: cpu)
  --dry-run            print the runs and their hyper-parameters without training
  --json               print one JSON object (plan, runs, failures, table) instead of markdown
`;

interface BenchFlags {
  glue: string;
  model: string;
  tasks: Table4Task[];
  methods: Table4Method[];
  epochs?: number;
  maxSeqLen?: number;
  seed: number;
  backend: string;
  dryRun: boolean;
  json: boolean;
}

/** A comma-separated subset of `allowed`, in the order given. */
function subsetOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new Error(`${flag}: unknown '${unknown.join(', ')}'; choose from ${allowed.join(', ')}`);
  return [...new Set(names)] as T[];
}

/** A number flag through the CLI's own parsers, its errors naming the flag. */
function numberFlag(flag: string, text: string | undefined, parse: (text: string) => number): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new Error(`${flag}: ${(error as Error).message}`);
  }
}

/** The flags, every one checked; unknown flags and stray arguments are refused by parseArgs. */
export function parseBenchFlags(argv: readonly string[]): BenchFlags | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      glue: { type: 'string' },
      model: { type: 'string' },
      tasks: { type: 'string' },
      methods: { type: 'string' },
      epochs: { type: 'string' },
      'max-seq-len': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string', default: 'cpu' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  for (const flag of ['glue', 'model'] as const) {
    if (values[flag] === undefined) throw new Error(`--${flag} is required`);
  }
  return {
    glue: values.glue!,
    model: values.model!,
    tasks: values.tasks === undefined ? [...TABLE4_TASKS] : subsetOf('--tasks', values.tasks, TABLE4_TASKS),
    methods: values.methods === undefined ? [...TABLE4_METHODS] : subsetOf('--methods', values.methods, TABLE4_METHODS),
    epochs: numberFlag('--epochs', values.epochs, positiveInteger),
    maxSeqLen: numberFlag('--max-seq-len', values['max-seq-len'], positiveInteger),
    seed: numberFlag('--seed', values.seed, nonNegativeInteger) ?? 1234,
    backend: values.backend,
    dryRun: values['dry-run'],
    json: values.json,
  };
}

/** Runs one planned run through the glue command; its progress goes to stderr. */
async function runOne(run: PlannedRun, io: CliIO): Promise<GlueEvaluation[]> {
  const lines: string[] = [];
  const code = await main([...run.args, '--json'], {
    stdout: (text) => lines.push(text),
    stderr: (text) => io.stderr(`  ${text}`),
    interactive: false,
  });
  if (code !== 0) throw new Error(`${run.method} ${run.task}: \`${commandLine(run)}\` exited with ${code}`);
  return lines
    .join('')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as GlueEvaluation);
}

/** Runs the plan; a run that fails is reported and the others go on (the full table takes long). Returns the failures. */
async function bench(flags: BenchFlags, io: CliIO): Promise<RunFailure[]> {
  const runs = planRuns(flags);
  if (flags.dryRun) {
    if (flags.json) io.stdout(`${JSON.stringify({ plan: runs.map(planEntry) })}\n`);
    else io.stdout(`${formatPlan(runs)}\n${runs.map((r) => `    ${commandLine(r)}\n`).join('')}`);
    return [];
  }
  const results: RunResult[] = [];
  const failures: RunFailure[] = [];
  for (const [i, run] of runs.entries()) {
    io.stderr(`[${i + 1}/${runs.length}] ${run.method} ${run.task}\n`);
    try {
      const result = runResult(run.method, run.task, await runOne(run, io));
      results.push(result);
      io.stderr(`  ${result.metric} x 100: ${result.score.toFixed(2)} (epoch ${result.bestEpoch})\n`);
    } catch (error) {
      failures.push({ method: run.method, task: run.task, error: (error as Error).message });
      io.stderr(`  failed: ${(error as Error).message}\n`);
    }
  }
  const rows = tableRows(results, failures);
  if (flags.json) {
    io.stdout(`${JSON.stringify({ plan: runs.map(planEntry), runs: results, failures, table: rows })}\n`);
  } else {
    io.stdout(formatTable(rows, flags.tasks));
  }
  return failures;
}

function planEntry(run: PlannedRun) {
  return { method: run.method, task: run.task, hyperparameters: run.hyperparameters, command: commandLine(run) };
}

/** Runs the bench with `argv` (without node and the script); resolves to the exit code. */
export async function glueTable4(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    const flags = parseBenchFlags(argv);
    if (flags === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    const failures = await bench(flags, io);
    if (failures.length === 0) return 0;
    io.stderr(
      `bench:glue-table4: ${failures.length} run(s) failed: ${failures.map((f) => `${f.method} ${f.task}`).join(', ')}\n`,
    );
    return 1;
  } catch (error) {
    io.stderr(`bench:glue-table4: error: ${(error as Error).message}\n`);
    return 1;
  }
}
