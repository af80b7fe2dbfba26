/**
 * `galore-ts glue`: fine-tunes a RoBERTa / BERT Hugging Face folder on one GLUE task, as
 * run_glue.py does it: GLUE's own train.tsv and dev file, the folder's tokenizer.json with sentence
 * pairs, truncation to --max-seq-len and padding per batch, one dev evaluation with the task's
 * metrics after each epoch, the learning rate on run_glue.py's schedule (linear decay to 0 by default,
 * with an optional warmup). Any optimizer of `train` (GaLore included) with --method full, or LoRA
 * adapters with --method lora; --out saves the fine-tuned model as a Hugging Face folder.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  AutoModelForSequenceClassification,
  applyTrainingMethod,
  atomicWriteFile,
  checkMethodOptimizer,
  type EncodedExample,
  type EncoderForSequenceClassification,
  encodeGlueExample,
  evaluateGlue,
  GLUE_TASK_NAMES,
  type GlueStepOptimizer,
  type GlueTask,
  getBackend,
  glueFilePath,
  glueTask,
  HuggingFaceTokenizer,
  type LoraModel,
  LRScheduler,
  manualSeed,
  type OptimizerSetup,
  type PairEncodingStyle,
  problemTypeOf,
  readGlueSplit,
  saveEncoderClassifier,
  saveTensors,
  type Tensor,
  type TrainableOptimizer,
  trainGlueEpoch,
} from '@galore-ts/core';
import { NO_DECAY_BIAS_AND_NORM } from '@galore-ts/galore';
import { Command, Option } from 'commander';
import { flagOf } from '../flag-names.js';
import { formatBytes } from '../format.js';
import type { CliIO } from '../io.js';
import { nameList, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber } from '../parse.js';
import { BACKEND_NAMES, selectBackend } from '../setup/backend.js';
import {
  addGaLoreOptions,
  DEFAULT_RANK_RULE,
  isGaLore,
  isLayerwise,
  OPTIMIZER_NAMES,
  optimizerFactory,
} from '../setup/optimizer.js';
import { addScheduleOptions, checkScheduleFlags, type ScheduleFlags, scheduleOf } from '../setup/schedule.js';
import { copyTokenizerFiles, TOKENIZER_FILE } from '../setup/tokenizer.js';

export const GLUE_METHODS = ['full', 'lora'] as const;

/**
 * What GaLore projects in an encoder by default: the official run_glue.py's --lora_all_modules
 * choice for bert-family models (query, key, value and both dense layers of each block).
 */
export const GLUE_GALORE_TARGETS: readonly string[] = ['query', 'value', 'key', 'intermediate.dense', 'output.dense'];

export interface GlueFlags extends ScheduleFlags {
  task: string;
  data: string;
  model: string;
  optimizer: string;
  method: (typeof GLUE_METHODS)[number];
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  seed: number;
  maxSeqLen: number;
  rank?: number;
  updateProjGap?: number;
  galoreScale?: number;
  projType?: string;
  targetModules?: string[];
  loraRank?: number;
  loraAlpha?: number;
  out?: string;
  backend: string;
  json?: boolean;
}

/** One dev evaluation, as --json prints it. */
export interface GlueEvaluation {
  task: string;
  epoch: number;
  metrics: Record<string, number>;
  peak_memory_bytes: number;
}

export function glueCommand(io: CliIO): Command {
  return addScheduleOptions(addGaLoreOptions(new Command('glue'), DEFAULT_RANK_RULE), 'linear')
    .description('fine-tune a RoBERTa / BERT Hugging Face folder on a GLUE task, evaluating on dev after every epoch')
    .requiredOption('--task <name>', `the GLUE task: ${GLUE_TASK_NAMES.join(', ')}`)
    .requiredOption('--data <dir>', "GLUE's folder (glue_data, holding SST-2/ ...) or the task's own folder")
    .requiredOption('--model <folder>', 'a Hugging Face folder (config.json, model.safetensors, tokenizer.json)')
    .addOption(new Option('--optimizer <name>', 'optimizer').choices([...OPTIMIZER_NAMES]).default('adamw'))
    .addOption(
      new Option('--method <name>', 'full: train every weight; lora: adapters on a frozen base')
        .choices([...GLUE_METHODS])
        .default('full'),
    )
    .option('--lr <number>', 'peak learning rate (see --lr-scheduler)', positiveNumber, 2e-5)
    .option(
      '--weight-decay <number>',
      'decoupled weight decay, not applied to biases and LayerNorm weights (as run_glue.py)',
      nonNegativeNumber,
      0,
    )
    .option('--batch-size <n>', 'examples per batch', positiveInteger, 32)
    .option('--epochs <n>', 'passes over train.tsv', positiveInteger, 3)
    .option('--seed <n>', 'seed of the new weights and the data order', nonNegativeInteger, 42)
    .option(
      '--max-seq-len <n>',
      'tokens per example, special tokens included (longer pairs are truncated)',
      positiveInteger,
      128,
    )
    .option(
      '--target-modules <names>',
      `comma-separated modules GaLore projects (default: ${GLUE_GALORE_TARGETS.join(',')}) or LoRA wraps (default: all-linear)`,
      nameList,
    )
    .option('--lora-rank <n>', 'LoRA adapter rank r (default: hidden size / 4)', positiveInteger)
    .option('--lora-alpha <x>', 'LoRA scaling = alpha / r (default: r)', positiveNumber)
    .option('--out <dir>', 'save the fine-tuned model (LoRA merged) and its tokenizer as a Hugging Face folder')
    .addOption(new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('cpu'))
    .option('--json', 'print one JSON object per evaluation instead of the table')
    .action(async (flags: GlueFlags) => {
      await runGlue(flags, io);
    });
}

/** Usage errors, before anything is read: each names its flag. */
export function checkGlueFlags(flags: GlueFlags): GlueTask {
  const task = glueTask(flags.task);
  if (flags.method === 'full') {
    const given = (['loraRank', 'loraAlpha'] as const).filter((k) => flags[k] !== undefined);
    if (given.length > 0) throw new Error(`${given.map(flagOf).join(', ')} only apply to --method lora, not 'full'`);
    if (flags.targetModules !== undefined && !isGaLore(flags.optimizer)) {
      throw new Error(
        `--target-modules chooses what GaLore projects or what LoRA wraps; --optimizer ${flags.optimizer} with --method full trains every weight in full`,
      );
    }
  }
  checkMethodOptimizer(flags.method, flags.optimizer);
  checkScheduleFlags(flags);
  return task;
}

/** The dev split's examples and the train split's, tokenized. */
async function readTask(
  flags: GlueFlags,
  task: GlueTask,
  tokenizer: HuggingFaceTokenizer,
  style: PairEncodingStyle,
): Promise<{ train: EncodedExample[]; dev: EncodedExample[] }> {
  const encode = (text: string) => tokenizer.encode(text);
  const read = async (split: string) => {
    const { examples } = await readGlueSplit(flags.data, task.name, split);
    if (examples.length === 0) throw new Error(`--data ${flags.data}: GLUE ${task.name} ${split} has no examples`);
    return examples.map((e) => encodeGlueExample(e, encode, style, flags.maxSeqLen));
  };
  return { train: await read('train'), dev: await read(task.devSplit) };
}

async function loadFolderTokenizer(folder: string): Promise<HuggingFaceTokenizer> {
  const file = join(folder, TOKENIZER_FILE);
  if (!(await stat(file).catch(() => undefined))?.isFile()) {
    throw new Error(`--model ${folder} has no ${TOKENIZER_FILE}; glue tokenizes with the model folder's own tokenizer`);
  }
  return HuggingFaceTokenizer.load(file);
}

export async function runGlue(flags: GlueFlags, io: CliIO): Promise<GlueEvaluation[]> {
  const task = checkGlueFlags(flags);
  // The data's files before the model: a wrong --data is the common mistake.
  if (!(await stat(flags.data).catch(() => undefined))?.isDirectory()) {
    throw new Error(`--data ${flags.data}: no such folder`);
  }
  for (const split of ['train', task.devSplit]) await glueFilePath(flags.data, task.name, split);
  const modelDir = resolve(flags.model);
  if (!(await stat(join(modelDir, 'config.json')).catch(() => undefined))?.isFile()) {
    throw new Error(`--model ${flags.model}: not a Hugging Face folder (no config.json)`);
  }
  const backend = await selectBackend(flags.backend);
  const tokenizer = await loadFolderTokenizer(modelDir);
  manualSeed(flags.seed);
  backend.tracker.resetPeak();
  const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(modelDir, {
    backend,
    ...(task.problemType === 'regression'
      ? { numLabels: 1, problemType: 'regression' as const }
      : { labels: task.labels, problemType: 'single_label_classification' as const }),
  }).catch((error: Error) => {
    if (!/do not fit the module: classifier\./.test(error.message)) throw error;
    throw new Error(
      `${error.message}; --model holds a classifier head of another size than GLUE ${task.name}'s ${task.numLabels} output(s): start from the base model (roberta-base as downloaded)`,
    );
  });
  if (loadingInfo.newlyInitialized.length > 0)
    io.stderr(`newly initialized (not in --model): ${loadingInfo.newlyInitialized.join(', ')}\n`);
  if (loadingInfo.unused.length > 0) io.stderr(`unused weights of --model: ${loadingInfo.unused.join(', ')}\n`);
  let adapted: LoraModel | null = null;
  let optimizer: TrainableOptimizer | undefined;
  let driver: OptimizerSetup['layerwise'] = null;
  try {
    const config = model.config;
    if (tokenizer.vocabSize > config.vocab_size) {
      throw new Error(
        `--model ${flags.model}: its tokenizer.json has ${tokenizer.vocabSize} ids but config.json vocab_size ${config.vocab_size}`,
      );
    }
    if (tokenizer.bosId === undefined || tokenizer.eosId === undefined) {
      throw new Error(`--model ${flags.model}: its tokenizer.json has no <s>/</s> or [CLS]/[SEP] token`);
    }
    // RoBERTa counts positions from pad_token_id + 1.
    const positions =
      config.model_type === 'roberta'
        ? config.max_position_embeddings - config.pad_token_id - 1
        : config.max_position_embeddings;
    if (flags.maxSeqLen > positions) {
      throw new Error(`--max-seq-len ${flags.maxSeqLen} exceeds the ${positions} positions the model has`);
    }
    const style: PairEncodingStyle = {
      style: config.model_type,
      clsId: tokenizer.bosId,
      sepId: tokenizer.eosId,
      padId: config.pad_token_id,
    };
    const { train, dev } = await readTask(flags, task, tokenizer, style);

    if (flags.method === 'lora') {
      adapted = applyTrainingMethod(
        model,
        'lora',
        {
          rank: flags.loraRank,
          alpha: flags.loraAlpha,
          targetModules: flags.targetModules,
          // The new classifier head trains in full, as PEFT's SEQ_CLS task type saves it.
          modulesToSave: ['classifier'],
        },
        config.hidden_size,
      );
    }
    const named = [...model.namedParameters()].filter(([, p]) => p.requiresGrad) as [string, Tensor][];
    const galore = isGaLore(flags.optimizer);
    const setup = optimizerFactory({
      optimizer: flags.optimizer,
      lr: flags.lr,
      weightDecay: flags.weightDecay,
      noDecay: NO_DECAY_BIAS_AND_NORM,
      gradAccum: 1,
      rank: flags.rank,
      updateProjGap: flags.updateProjGap,
      galoreScale: flags.galoreScale,
      projType: flags.projType,
      ...(galore ? { targetModules: flags.targetModules ?? [...GLUE_GALORE_TARGETS] } : {}),
    })(named);
    const { optimizer: built, layerwise } =
      'optimizer' in setup ? (setup as OptimizerSetup) : { optimizer: setup, layerwise: null };
    optimizer = built;
    const stepper = built as unknown as GlueStepOptimizer;
    driver = isLayerwise(flags.optimizer) ? (layerwise ?? null) : null;
    const layers = driver;
    // run_glue.py steps its scheduler once per optimizer step over epochs x batches per epoch.
    const totalSteps = flags.epochs * Math.ceil(train.length / flags.batchSize);
    const scheduler = new LRScheduler(built, scheduleOf(flags, totalSteps));

    io.stderr(
      `glue ${task.name}: ${train.length} train / ${dev.length} ${task.devSplit} examples; ${flags.method} with ${flags.optimizer}; ${named.length} trainable tensors; lr ${flags.lr}, ${flags.lrScheduler} schedule over ${totalSteps} steps\n`,
    );
    const evaluations: GlueEvaluation[] = [];
    for (let epoch = 1; epoch <= flags.epochs; epoch++) {
      const { meanLoss } = trainGlueEpoch(model, train, stepper, {
        batchSize: flags.batchSize,
        padId: style.padId,
        seed: flags.seed + epoch,
        onStep: () => scheduler.step(),
        ...(layers ? { backwardAndStep: (loss: Tensor) => layers.backward(loss) } : {}),
      });
      const { metrics } = evaluateGlue(model, dev, task, { batchSize: flags.batchSize, padId: style.padId });
      const evaluation: GlueEvaluation = {
        task: task.name,
        epoch,
        metrics: metrics as Record<string, number>,
        peak_memory_bytes: getBackend().tracker.snapshot().totalPeak,
      };
      evaluations.push(evaluation);
      if (flags.json) io.stdout(`${JSON.stringify(evaluation)}\n`);
      else io.stderr(`epoch ${epoch}/${flags.epochs}: train loss ${meanLoss.toFixed(4)}\n`);
    }
    if (!flags.json) io.stdout(formatTable(task, evaluations));
    if (flags.out !== undefined) {
      const out = resolve(flags.out);
      await saveFolder(model, adapted, modelDir, out);
      io.stderr(`saved the fine-tuned model to ${out}\n`);
    }
    return evaluations;
  } finally {
    driver?.dispose?.();
    optimizer?.dispose?.();
    model.dispose();
  }
}

/** The model (adapters merged into their weights) and the model folder's tokenizer files, as a Hugging Face folder. */
async function saveFolder(
  model: EncoderForSequenceClassification,
  adapted: LoraModel | null,
  modelDir: string,
  out: string,
): Promise<void> {
  if (adapted) {
    await mkdir(out, { recursive: true });
    const { weights, created } = adapted.mergedWeights();
    try {
      await saveTensors(join(out, 'model.safetensors'), weights, { format: 'pt' });
    } finally {
      for (const t of created) t.dispose();
    }
    const arch =
      model.config.model_type === 'roberta' ? 'RobertaForSequenceClassification' : 'BertForSequenceClassification';
    const config = { ...model.config, architectures: [arch], problem_type: problemTypeOf(model.config) };
    await atomicWriteFile(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  } else {
    await saveEncoderClassifier(model, out);
  }
  await copyTokenizerFiles(modelDir, out);
}

function formatTable(task: GlueTask, rows: readonly GlueEvaluation[]): string {
  const header = ['epoch', ...task.metrics, 'peak memory'];
  const body = rows.map((r) => [
    String(r.epoch),
    ...task.metrics.map((m) => (r.metrics[m] ?? Number.NaN).toFixed(4)),
    formatBytes(r.peak_memory_bytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `${cells.map((c, i) => c.padStart(widths[i]!)).join('  ')}\n`;
  return `GLUE ${task.name} (${task.devSplit})\n${line(header)}${body.map(line).join('')}`;
}
