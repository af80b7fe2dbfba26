/**
 * The bench's runs: one `galore-ts glue` command per (method, task) with the paper's
 * hyper-parameters, after the user's overrides.
 */
import { type Table4Hyperparameters, type Table4Method, type Table4Task, table4Hyperparameters } from './paper.js';

export interface PlanOptions {
  glue: string;
  model: string;
  tasks: readonly Table4Task[];
  methods: readonly Table4Method[];
  seed: number;
  backend: string;
  /** Overrides of every run's epochs and sequence length (the paper's 30 epochs at 512 tokens take days on a CPU). */
  epochs?: number;
  maxSeqLen?: number;
}

export interface PlannedRun {
  method: Table4Method;
  task: Table4Task;
  hyperparameters: Table4Hyperparameters;
  /** The glue command's arguments (after `galore-ts`), without --json. */
  args: string[];
}

export function planRuns(options: PlanOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const method of options.methods) {
    for (const task of options.tasks) {
      const hyperparameters = {
        ...table4Hyperparameters(method, task),
        ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
        ...(options.maxSeqLen === undefined ? {} : { maxSeqLen: options.maxSeqLen }),
      };
      runs.push({ method, task, hyperparameters, args: glueArgs(task, hyperparameters, options) });
    }
  }
  return runs;
}

function glueArgs(task: Table4Task, h: Table4Hyperparameters, o: PlanOptions): string[] {
  const args = ['glue', '--task', task, '--data', o.glue, '--model', o.model];
  args.push('--optimizer', h.optimizer, '--method', h.method, '--lr', String(h.lr));
  args.push('--lr-scheduler', h.lrScheduler, '--warmup-ratio', String(h.warmupRatio));
  args.push('--weight-decay', String(h.weightDecay), '--batch-size', String(h.batchSize));
  args.push('--epochs', String(h.epochs), '--max-seq-len', String(h.maxSeqLen), '--seed', String(o.seed));
  if (h.rank !== undefined) args.push('--rank', String(h.rank));
  if (h.galoreScale !== undefined) args.push('--galore-scale', String(h.galoreScale));
  if (h.updateProjGap !== undefined) args.push('--update-proj-gap', String(h.updateProjGap));
  if (h.loraRank !== undefined) args.push('--lora-rank', String(h.loraRank));
  if (h.loraAlpha !== undefined) args.push('--lora-alpha', String(h.loraAlpha));
  if (h.targetModules !== undefined) args.push('--target-modules', h.targetModules.join(','));
  args.push('--backend', o.backend);
  return args;
}

/** The plan as a markdown table: one row per run, one column per hyper-parameter. */
export function formatPlan(runs: readonly PlannedRun[]): string {
  const header = [
    'method',
    'task',
    'optimizer',
    'lr',
    'schedule',
    'warmup ratio',
    'weight decay',
    'batch',
    'epochs',
    'max len',
    'rank',
    'GaLore scale',
    'proj. gap',
    'LoRA alpha',
    'LoRA targets',
  ];
  const rows = runs.map(({ method, task, hyperparameters: h }) => [
    method,
    task,
    h.method === 'lora' ? `${h.optimizer} (LoRA)` : h.optimizer,
    String(h.lr),
    h.lrScheduler,
    String(h.warmupRatio),
    String(h.weightDecay),
    String(h.batchSize),
    String(h.epochs),
    String(h.maxSeqLen),
    String(h.rank ?? h.loraRank ?? '-'),
    String(h.galoreScale ?? '-'),
    String(h.updateProjGap ?? '-'),
    String(h.loraAlpha ?? '-'),
    h.targetModules?.join(',') ?? '-',
  ]);
  return markdownTable(header, rows);
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |\n`;
  return line(header) + line(header.map(() => '---')) + rows.map(line).join('');
}

/** A run as a shell command line a user can paste. */
export function commandLine(run: PlannedRun): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
  return `galore-ts ${run.args.map(quote).join(' ')}`;
}
