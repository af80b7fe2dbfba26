/** `galore-ts train`: trains a LLaMA model with the library's Trainer and reports as it goes. */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  JsonlMetricsWriter,
  loadTokenizer,
  type MemoryCategory,
  type MetricsRow,
  manualSeed,
  readTrainerState,
  resolveCheckpoint,
  TokenDataset,
  Trainer,
  type TrainSummary,
} from '@galore-ts/core';
import { Command, Option } from 'commander';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import type { CliIO } from '../io.js';
import {
  fraction,
  nameList,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
} from '../parse.js';
import { TrainingProgress } from '../progress.js';
import { BACKEND_NAMES, describeBackend, selectBackend } from '../setup/backend.js';
import { buildModel, resolveModel } from '../setup/model.js';
import { isLayerwise, OPTIMIZER_NAMES, optimizerFactory } from '../setup/optimizer.js';
import { DEFAULT_SETTINGS, mergeSettings, type RunSettings, warmupOf } from './train-settings.js';

export const METRICS_FILE = 'metrics.jsonl';
export const RUN_FILE = 'run.json';
export const CHECKPOINTS_DIR = 'checkpoints';

interface TrainFlags extends Partial<RunSettings> {
  out?: string;
  resume?: string | true;
  backend: string;
  json?: boolean;
  logEvery?: number;
}

export interface TrainReport {
  run_dir: string;
  model: string;
  parameters: number;
  optimizer: string;
  stop_reason: TrainSummary['stopReason'];
  steps: number;
  tokens: number;
  train_seconds: number;
  tokens_per_s: number;
  first_loss: number | null;
  final_loss: number | null;
  final_val_loss: number | null;
  final_val_ppl: number | null;
  peak_memory_bytes: number;
  memory_at_peak: Record<MemoryCategory, number>;
  last_checkpoint: string | null;
  metrics_file: string;
  resumed_from: string | null;
}

const d = DEFAULT_SETTINGS;

export function trainCommand(io: CliIO): Command {
  return new Command('train')
    .description('train a LLaMA model (by default llama_tiny on the shipped Shakespeare excerpt, on the CPU)')
    .option(
      '--model <preset|config.json|folder>',
      `a preset, a config.json, or a Hugging Face folder to fine-tune (default: ${d.model})`,
    )
    .option('--data <path>', 'a text/JSONL file or a folder of them (default: the shipped corpus)')
    .option('--tokenizer <byte|gpt2|path>', `tokenizer (default: ${d.tokenizer})`)
    .addOption(new Option('--optimizer <name>', `optimizer (default: ${d.optimizer})`).choices([...OPTIMIZER_NAMES]))
    .option('--lr <number>', `peak learning rate (default: ${d.lr})`, positiveNumber)
    .option('--weight-decay <number>', `decoupled weight decay (default: ${d.weightDecay})`, nonNegativeNumber)
    .option('--batch-size <n>', `sequences per micro-batch (default: ${d.batchSize})`, positiveInteger)
    .option('--seq-len <n>', `tokens per sequence (default: ${d.seqLen})`, positiveInteger)
    .option('--grad-accum <n>', `micro-batches per optimizer step (default: ${d.gradAccum})`, positiveInteger)
    .option('--steps <n>', `optimizer steps (default: ${d.steps})`, positiveInteger)
    .option('--warmup <n>', 'linear warmup steps (default: 10% of --steps)', nonNegativeInteger)
    .option('--min-lr-ratio <x>', `cosine floor as a fraction of --lr (default: ${d.minLrRatio})`, fraction)
    .option(
      '--max-grad-norm <x>',
      'clip the global gradient norm; 0 disables (default: 1, or 0 for _layerwise)',
      nonNegativeNumber,
    )
    .option('--eval-every <n>', `evaluate every n steps; 0 disables (default: ${d.evalEvery})`, nonNegativeInteger)
    .option('--eval-batches <n>', `held-out batches for evaluation (default: ${d.evalBatches})`, positiveInteger)
    .option('--save-every <n>', `checkpoint every n steps (default: ${d.saveEvery})`, positiveInteger)
    .option(
      '--keep-checkpoints <n>',
      `checkpoints kept; 0 keeps all (default: ${d.keepCheckpoints})`,
      nonNegativeInteger,
    )
    .option('--seed <n>', `seed of the weights and the data order (default: ${d.seed})`, nonNegativeInteger)
    .addOption(
      new Option('--dtype <dtype>', `weight storage dtype (default: ${d.dtype})`).choices(['float32', 'bfloat16']),
    )
    .option('--rank <n>', 'GaLore rank (default: 128)', positiveInteger)
    .option('--update-proj-gap <n>', 'GaLore subspace refresh interval T (default: 200)', positiveInteger)
    .option('--galore-scale <x>', 'GaLore scale alpha (default: 0.25)', positiveNumber)
    .addOption(
      new Option('--proj-type <type>', 'GaLore projection side (default: std)').choices([
        'std',
        'reverse_std',
        'left',
        'right',
        'full',
      ]),
    )
    .option('--target-modules <names>', 'comma-separated module names GaLore projects (default: attn,mlp)', nameList)
    .option('--out <dir>', 'run folder for metrics and checkpoints (default: runs/<model>-<time>)')
    .option(
      '--resume [checkpoint]',
      'continue from a checkpoint (default: the latest in --out); unspecified flags keep their saved values',
    )
    .addOption(new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('cpu'))
    .option(
      '--log-every <n>',
      'without a terminal, print a progress line every n steps (default: steps / 10)',
      positiveInteger,
    )
    .option('--json', 'print the summary as JSON')
    .action(async (flags: TrainFlags) => {
      const report = await runTrain(flags, io);
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}

/** Settings the flags asked for (commander leaves unset ones undefined: they fall back to saved or default). */
function givenSettings(flags: TrainFlags): Partial<RunSettings> {
  const { out: _out, resume: _resume, backend: _backend, json: _json, logEvery: _logEvery, ...given } = flags;
  return given;
}

export async function runTrain(flags: TrainFlags, io: CliIO): Promise<TrainReport> {
  const resumeFrom = await checkpointToResume(flags);
  const saved = resumeFrom ? await savedRun(resumeFrom) : undefined;
  const settings = mergeSettings(givenSettings(flags), saved?.settings);
  const runDir = resolve(flags.out ?? saved?.runDir ?? defaultRunDir(settings.model));
  const layerwise = isLayerwise(settings.optimizer);
  const maxGradNorm = settings.maxGradNorm ?? (layerwise ? 0 : 1);
  if (layerwise && maxGradNorm > 0) {
    throw new Error(
      `--max-grad-norm ${maxGradNorm}: ${settings.optimizer} updates each layer inside backward and cannot clip the global norm; use --max-grad-norm 0`,
    );
  }

  manualSeed(settings.seed);
  const backend = await selectBackend(flags.backend);
  const tokenizer = await loadTokenizer(settings.tokenizer);
  const choice = await resolveModel(settings.model, tokenizer);
  if (settings.seqLen > choice.config.max_position_embeddings) {
    throw new Error(
      `--seq-len ${settings.seqLen} exceeds the model's max_position_embeddings (${choice.config.max_position_embeddings})`,
    );
  }
  const factory = optimizerFactory(settings);
  const evaluating = settings.evalEvery > 0;
  const data = await TokenDataset.open({
    path: settings.data,
    tokenizer,
    seqLen: settings.seqLen,
    batchSize: settings.batchSize,
    seed: settings.seed,
    validationSequences: evaluating ? settings.evalBatches * settings.batchSize : 0,
  });
  const model = await buildModel(choice, backend);
  let trainer: Trainer | undefined;
  let progress: TrainingProgress | undefined;
  // Set once the metrics file and the progress display exist (after a resume knows the start step).
  const sink: { row?: (row: MetricsRow) => Promise<void>; checkpoint?: (dir: string) => void } = {};
  try {
    trainer = new Trainer({
      model,
      optimizer: factory,
      data,
      steps: settings.steps,
      gradientAccumulation: settings.gradAccum,
      maxGradNorm,
      schedule: { warmupSteps: warmupOf(settings), minLrRatio: settings.minLrRatio },
      weightDType: settings.dtype,
      ...(evaluating
        ? { evaluation: { every: settings.evalEvery, batches: () => data.validationBatches(settings.batchSize) } }
        : {}),
      checkpoints: {
        dir: join(runDir, CHECKPOINTS_DIR),
        every: settings.saveEvery,
        keep: settings.keepCheckpoints,
        metadata: { settings, runDir },
      },
      onMetrics: (row) => sink.row?.(row),
      onCheckpoint: (dir) => sink.checkpoint?.(dir),
    });
    const resumed = resumeFrom ? await trainer.resume(resumeFrom) : undefined;
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, RUN_FILE), `${JSON.stringify({ settings, backend: backend.name }, null, 2)}\n`);
    const metrics = await JsonlMetricsWriter.open(
      join(runDir, METRICS_FILE),
      resumed ? { keepUpTo: resumed.step } : {},
    );
    io.stderr(describeStart(settings, model.numParameters(), runDir, resumed ? resumeFrom! : null, trainer.step));
    io.stderr(`backend ${describeBackend(backend)}\n`);
    progress = new TrainingProgress(io, {
      totalSteps: settings.steps,
      startStep: trainer.step,
      logEvery: flags.logEvery ?? Math.max(1, Math.floor(settings.steps / 10)),
    });
    let firstLoss: number | null = null;
    const display = progress;
    sink.row = async (row) => {
      firstLoss ??= row.loss;
      await metrics.write(row);
      display.update(row);
    };
    sink.checkpoint = (dir) => display.note(`saved checkpoint ${dir}`);
    const summary = await trainer.train();
    progress.stop();
    return {
      run_dir: runDir,
      model: choice.label,
      parameters: model.numParameters(),
      optimizer: settings.optimizer,
      stop_reason: summary.stopReason,
      steps: summary.steps,
      tokens: summary.tokens,
      train_seconds: summary.trainSeconds,
      tokens_per_s: summary.tokensPerSecond,
      first_loss: firstLoss,
      final_loss: summary.finalLoss ?? null,
      final_val_loss: summary.finalValLoss ?? null,
      final_val_ppl: summary.finalValPpl ?? null,
      peak_memory_bytes: summary.peakMemoryBytes,
      memory_at_peak: summary.memoryAtPeak,
      last_checkpoint: summary.lastCheckpoint,
      metrics_file: join(runDir, METRICS_FILE),
      resumed_from: resumeFrom,
    };
  } finally {
    progress?.stop();
    trainer?.dispose();
    model.dispose();
    await data.close();
  }
}

async function checkpointToResume(flags: TrainFlags): Promise<string | null> {
  if (flags.resume === undefined) return null;
  if (flags.resume === true) {
    if (!flags.out)
      throw new Error('--resume without a checkpoint path needs --out <run folder> to find the latest checkpoint in');
    return resolveCheckpoint(flags.out);
  }
  return resolveCheckpoint(flags.resume);
}

/** The settings and run folder a checkpoint's run recorded. */
async function savedRun(checkpoint: string): Promise<{ settings?: Partial<RunSettings>; runDir: string }> {
  const state = await readTrainerState(checkpoint);
  const meta = state.metadata as { settings?: Partial<RunSettings>; runDir?: string };
  // A checkpoint lives in <run>/checkpoints/step-N; fall back to that when the metadata has no run folder.
  return { settings: meta.settings, runDir: meta.runDir ?? dirname(dirname(checkpoint)) };
}

function defaultRunDir(model: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', `${basename(model).replace(/\.json$/, '')}-${stamp}`);
}

function describeStart(
  settings: RunSettings,
  parameters: number,
  runDir: string,
  resumedFrom: string | null,
  step: number,
): string {
  const what = `${settings.model} (${formatCount(parameters)} parameters), ${settings.optimizer}, lr ${settings.lr}`;
  const shape = `${settings.batchSize} x ${settings.seqLen} tokens x ${settings.gradAccum} micro-batches per step`;
  const resumed = resumedFrom ? `resuming at step ${step} from ${resumedFrom}\n` : '';
  return `${resumed}training ${what}; ${shape}; ${settings.steps} steps; run folder ${runDir}\n`;
}

export function formatReport(r: TrainReport): string {
  const lines = [
    `${r.stop_reason === 'completed' ? 'Trained' : 'Stopped (data exhausted)'}: ${r.model} (${formatCount(r.parameters)} parameters) with ${r.optimizer}, ${r.steps} steps`,
    `  tokens      ${formatCount(r.tokens)} in ${formatDuration(r.train_seconds)} (${r.tokens_per_s.toFixed(0)} tokens/s)`,
    `  loss        ${r.first_loss?.toFixed(4) ?? '-'} -> ${r.final_loss?.toFixed(4) ?? '-'}`,
  ];
  if (r.final_val_loss !== null)
    lines.push(`  validation  loss ${r.final_val_loss.toFixed(4)}, perplexity ${r.final_val_ppl!.toFixed(2)}`);
  const parts = Object.entries(r.memory_at_peak)
    .filter(([, bytes]) => bytes > 0)
    .map(([category, bytes]) => `${category} ${formatBytes(bytes)}`)
    .join(', ');
  lines.push(`  memory      peak ${formatBytes(r.peak_memory_bytes)} per step${parts ? ` (${parts})` : ''}`);
  lines.push(`  checkpoint  ${r.last_checkpoint ?? '-'}`);
  lines.push(`  metrics     ${r.metrics_file}`);
  return `${lines.join('\n')}\n`;
}
