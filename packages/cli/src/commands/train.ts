/** `galore-ts train`: trains a LLaMA model with the library's Trainer and reports as it goes. */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  JsonlMetricsWriter,
  loadTokenizer,
  type MemoryCategory,
  type MetricsRow,
  manualSeed,
  NonFiniteLossError,
  OPTIMIZER_RESETS,
  readTrainerState,
  resolveCheckpoint,
  Trainer,
  type TrainSummary,
} from '@galore-ts/core';
import { Command, Option } from 'commander';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import { CommandExit, handleInterrupts, INTERRUPTED_EXIT_CODE } from '../interrupt.js';
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
import { DATA_FORMATS, openTrainingData } from '../setup/data.js';
import { addAdapterOptions, applyMethod, checkMethodSettings } from '../setup/method.js';
import { buildModel, resolveModel } from '../setup/model.js';
import {
  addGaLoreOptions,
  DEFAULT_RANK_RULE,
  isGaLore,
  isLayerwise,
  OPTIMIZER_NAMES,
  optimDtypeOption,
  optimizerFactory,
  projectionRank,
} from '../setup/optimizer.js';
import { warmupOption } from '../setup/schedule.js';
import { copyTokenizerFiles, folderTokenizer } from '../setup/tokenizer.js';
import { applyResumedSettings, checkResumable } from './resume-settings.js';
import { CHECKPOINTS_DIR, METRICS_FILE, prepareRunFolder, RUN_FILE, runFileError } from './run-folder.js';
import { DEFAULT_SETTINGS, MODEL_DTYPES, mergeSettings, type RunSettings, warmupOf } from './train-settings.js';

export { CHECKPOINTS_DIR, METRICS_FILE, RUN_FILE };

interface TrainFlags extends Partial<RunSettings> {
  out?: string;
  resume?: string | true;
  overwrite?: boolean;
  backend: string;
  json?: boolean;
  logEvery?: number;
}

export interface TrainReport {
  run_dir: string;
  model: string;
  parameters: number;
  /** Parameters that train (all of them with --method full). */
  trainable_parameters: number;
  method: string;
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
  return addGaLoreOptions(addAdapterOptions(new Command('train')), DEFAULT_RANK_RULE)
    .description('train a LLaMA model (by default llama_tiny on the shipped Shakespeare excerpt, on the CPU)')
    .option(
      '--model <preset|config.json|folder>',
      `a preset, a config.json, or a Hugging Face folder to fine-tune (default: ${d.model})`,
    )
    .option('--data <path>', 'a text/JSONL file or a folder of them (default: the shipped corpus)')
    .addOption(
      new Option(
        '--format <format>',
        'how --data is read: packed text, or instruction data trained on responses only',
      ).choices([...DATA_FORMATS]),
    )
    .option('--text-field <name>', 'JSONL field holding the text (default: text)')
    .option('--eval-data <path>', 'a separate validation file in the same format (default: held out of --data)')
    .option('--epochs <n>', 'passes over instruction data; sets --steps when it is not given', positiveInteger)
    .option(
      '--tokenizer <byte|gpt2|path>',
      `tokenizer (default: the --model folder's tokenizer.json if it has one, else ${d.tokenizer})`,
    )
    .addOption(new Option('--optimizer <name>', `optimizer (default: ${d.optimizer})`).choices([...OPTIMIZER_NAMES]))
    .option('--lr <number>', `peak learning rate (default: ${d.lr})`, positiveNumber)
    .option('--weight-decay <number>', `decoupled weight decay (default: ${d.weightDecay})`, nonNegativeNumber)
    .option('--batch-size <n>', `sequences per micro-batch (default: ${d.batchSize})`, positiveInteger)
    .option('--seq-len <n>', `tokens per sequence (default: ${d.seqLen})`, positiveInteger)
    .option('--grad-accum <n>', `micro-batches per optimizer step (default: ${d.gradAccum})`, positiveInteger)
    .option('--steps <n>', `optimizer steps (default: ${d.steps})`, positiveInteger)
    .addOption(warmupOption('10% of --steps'))
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
    .addOption(new Option('--dtype <dtype>', `weight storage dtype (default: ${d.dtype})`).choices([...MODEL_DTYPES]))
    .addOption(optimDtypeOption())
    .option('--gradient-checkpointing', 'recompute activations in backward instead of keeping them (less memory)')
    .option(
      '--target-modules <names>',
      'comma-separated module names GaLore projects (default: attn,mlp) or adapters wrap (default: all-linear)',
      nameList,
    )
    .option('--lora-dropout <p>', 'dropout on the adapters input (default: 0)', fraction)
    .option('--relora-reset-every <n>', 'ReLoRA: merge and restart every n steps (default: steps / 4)', positiveInteger)
    .addOption(
      new Option(
        '--relora-optimizer-reset <mode>',
        'ReLoRA: adapter optimizer state at a restart (default: prune 99%)',
      ).choices([...OPTIMIZER_RESETS]),
    )
    .option('--out <dir>', 'run folder for metrics and checkpoints (default: runs/<model>-<time>)')
    .option(
      '--resume [checkpoint]',
      'continue from a checkpoint (default: the latest in --out); flags not given keep their saved values; --lr, --weight-decay, --update-proj-gap, --galore-scale and a larger --steps apply from the next step; --optimizer, --rank, --proj-type, --target-modules, --model, --dtype and --optim-dtype cannot change',
    )
    .option('--overwrite', 'replace the run already in --out (without it, train refuses to write over a run)')
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
      if (report.stop_reason === 'interrupted') {
        throw new CommandExit(
          `interrupted after step ${report.steps}; checkpoint ${report.last_checkpoint}; continue with: galore-ts train --out ${report.run_dir} --resume`,
          INTERRUPTED_EXIT_CODE,
        );
      }
    });
}

/** Settings the flags asked for (commander leaves unset ones undefined: they fall back to saved or default). */
function givenSettings(flags: TrainFlags): Partial<RunSettings> {
  const {
    out: _out,
    resume: _resume,
    overwrite: _overwrite,
    backend: _backend,
    json: _json,
    logEvery: _logEvery,
    ...given
  } = flags;
  return given;
}

export async function runTrain(flags: TrainFlags, io: CliIO): Promise<TrainReport> {
  const resumeFrom = await checkpointToResume(flags);
  const saved = resumeFrom ? await savedRun(resumeFrom) : undefined;
  const given = givenSettings(flags);
  // A Hugging Face folder's own tokenizer, unless another was asked for (a resumed run saved its own).
  if (given.tokenizer === undefined && !saved) given.tokenizer = await folderTokenizer(given.model);
  const settings = mergeSettings(given, saved?.settings);
  if (resumeFrom && saved) checkResumable(settings, saved.settings ?? {}, { dir: resumeFrom, step: saved.step });
  const runDir = resolve(flags.out ?? saved?.runDir ?? defaultRunDir(settings.model));
  const layerwise = isLayerwise(settings.optimizer);
  const maxGradNorm = settings.maxGradNorm ?? (layerwise ? 0 : 1);
  if (layerwise && maxGradNorm > 0) {
    throw new Error(
      `--max-grad-norm ${maxGradNorm}: ${settings.optimizer} updates each layer inside backward and cannot clip the global norm; use --max-grad-norm 0`,
    );
  }

  checkMethodSettings(settings);
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
  const { data, validation, epochSteps, close } = await openTrainingData(settings, tokenizer, evaluating);
  if (epochSteps !== undefined && settings.epochs !== undefined && flags.steps === undefined)
    settings.steps = epochSteps;
  const model = await buildModel(choice, backend);
  model.gradientCheckpointing = settings.gradientCheckpointing === true;
  let trainer: Trainer | undefined;
  let progress: TrainingProgress | undefined;
  let stopHandling: (() => void) | undefined;
  // Set once the metrics file and the progress display exist (after a resume knows the start step).
  const sink: { row?: (row: MetricsRow) => Promise<void>; checkpoint?: (dir: string) => Promise<void> } = {};
  try {
    // After every other check, because --overwrite deletes the old run.
    await prepareRunFolder(runDir, { resume: resumeFrom !== null, overwrite: flags.overwrite === true });
    const method = applyMethod(model, settings, choice.pretrainedDir !== undefined);
    trainer = new Trainer({
      model,
      optimizer: factory,
      data,
      steps: settings.steps,
      gradientAccumulation: settings.gradAccum,
      maxGradNorm,
      schedule: method.schedule ?? { warmupSteps: warmupOf(settings), minLrRatio: settings.minLrRatio },
      hooks: method.hooks,
      weightDType: settings.dtype,
      ...(evaluating && validation ? { evaluation: { every: settings.evalEvery, batches: validation } } : {}),
      checkpoints: {
        dir: join(runDir, CHECKPOINTS_DIR),
        every: settings.saveEvery,
        keep: settings.keepCheckpoints,
        metadata: { settings, runDir },
      },
      onMetrics: (row) => sink.row?.(row),
      onCheckpoint: (dir) => sink.checkpoint?.(dir),
    });
    const running = trainer;
    // The rank the optimizer chose when --rank was not given, so run.json and a resume say it.
    if (isGaLore(settings.optimizer)) settings.rank ??= projectionRank(trainer.optimizer);
    const resumed = resumeFrom ? await trainer.resume(resumeFrom) : undefined;
    if (resumed) applyResumedSettings(trainer, settings);
    const runFile = join(runDir, RUN_FILE);
    await writeFile(runFile, `${JSON.stringify({ settings, backend: backend.name }, null, 2)}\n`).catch((error) => {
      throw runFileError(error, runFile, running.lastCheckpoint);
    });
    const metrics = await JsonlMetricsWriter.open(
      join(runDir, METRICS_FILE),
      resumed ? { keepUpTo: resumed.step } : {},
    );
    for (const bad of metrics.badLines) {
      io.stderr(
        `warning: ${metrics.path} line ${bad.line} is not a metrics row (${bad.reason}); kept the readable rows, the file as it was is saved as ${metrics.backup}\n`,
      );
    }
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
      await metrics.write(row).catch((error) => {
        throw runFileError(error, metrics.path, running.lastCheckpoint);
      });
      display.update(row);
    };
    sink.checkpoint = async (dir) => {
      // A checkpoint is a Hugging Face folder: with its tokenizer, eval, generate and transformers load it alone.
      await copyTokenizerFiles(settings.tokenizer, dir);
      display.note(`saved checkpoint ${dir}`);
    };
    stopHandling = handleInterrupts(io, { stop: () => running.requestStop(), abort: () => display.stop() });
    const summary = await trainer.train().catch((error: unknown) => {
      throw withResumeCommand(error, runDir, settings.lr);
    });
    progress.stop();
    return {
      run_dir: runDir,
      model: choice.label,
      parameters: model.numParameters(),
      trainable_parameters: trainableCount(model),
      method: settings.method,
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
    stopHandling?.();
    progress?.stop();
    trainer?.dispose();
    model.dispose();
    await close();
  }
}

function trainableCount(model: { parameters(): { size: number; requiresGrad: boolean }[] }): number {
  return model.parameters().reduce((n, p) => n + (p.requiresGrad ? p.size : 0), 0);
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

/** The settings, run folder and step a checkpoint's run recorded. */
async function savedRun(
  checkpoint: string,
): Promise<{ settings?: Partial<RunSettings>; runDir: string; step: number }> {
  const state = await readTrainerState(checkpoint);
  const meta = state.metadata as { settings?: Partial<RunSettings>; runDir?: string };
  // A checkpoint lives in <run>/checkpoints/step-N; fall back to that when the metadata has no run folder.
  return { settings: meta.settings, runDir: meta.runDir ?? dirname(dirname(checkpoint)), step: state.step };
}

/** A non-finite stop, with the command that follows its advice (resume the last good checkpoint, lower lr). */
function withResumeCommand(error: unknown, runDir: string, lr: number): unknown {
  if (!(error instanceof NonFiniteLossError) || !error.lastCheckpoint) return error;
  return new Error(
    `${error.message}, e.g. galore-ts train --out ${runDir} --resume ${error.lastCheckpoint} --lr ${lr / 10}`,
  );
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
  const method = settings.method === 'full' ? '' : `${settings.method}, `;
  const galore = settings.rank !== undefined ? `, rank ${settings.rank}` : '';
  const what = `${settings.model} (${formatCount(parameters)} parameters), tokenizer ${settings.tokenizer}, ${method}${settings.optimizer}${galore}, lr ${settings.lr}`;
  const shape = `${settings.batchSize} x ${settings.seqLen} tokens x ${settings.gradAccum} micro-batches per step`;
  const resumed = resumedFrom ? `resuming at step ${step} from ${resumedFrom}\n` : '';
  return `${resumed}training ${what}; ${shape}; ${settings.steps} steps; run folder ${runDir}\n`;
}

const STOP_TITLES: Record<TrainSummary['stopReason'], string> = {
  completed: 'Trained',
  'data exhausted': 'Stopped (data exhausted)',
  interrupted: 'Stopped (interrupted)',
};

export function formatReport(r: TrainReport): string {
  const lines = [
    `${STOP_TITLES[r.stop_reason]}: ${r.model} (${formatCount(r.parameters)} parameters${r.method === 'full' ? '' : `, ${formatCount(r.trainable_parameters)} trained by ${r.method}`}) with ${r.optimizer}, ${r.steps} steps`,
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
