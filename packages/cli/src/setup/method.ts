/**
 * --method and its flags: which weights train. `full` trains them all; `lora` adds adapters to a
 * frozen base; `relora` is LoRA merged and restarted every --relora-reset-every steps with the
 * jagged schedule; `low_rank` replaces each target weight by B A from scratch. Pretraining from a
 * preset also trains the embeddings, norms and head in full (as the paper's baselines do);
 * fine-tuning a Hugging Face folder trains only the adapters (PEFT's default) unless
 * --modules-to-save says otherwise.
 */
import { join } from 'node:path';
import {
  applyTrainingMethod,
  type Backend,
  checkMethodOptimizer,
  isTrainingMethod,
  jaggedCosine,
  LlamaForCausalLM,
  type LoraModel,
  type LRSchedule,
  loadTensorsInto,
  OPTIMIZER_RESETS,
  type OptimizerReset,
  PRETRAINING_MODULES_TO_SAVE,
  ReloraHook,
  readConfig,
  TRAINING_METHODS,
  type TrainerHook,
  WEIGHTS_FILE,
} from '@galore-ts/core';
import { type Command, Option } from 'commander';
import { type RunSettings, warmupOf } from '../commands/train-settings.js';
import { flagOf } from '../flag-names.js';
import { nameList, positiveInteger, positiveNumber } from '../parse.js';

export { TRAINING_METHODS };

export interface MethodSetup {
  adapted: LoraModel | null;
  hooks: TrainerHook[];
  /** ReLoRA's jagged cosine; undefined keeps the Trainer's warmup + cosine. */
  schedule?: LRSchedule;
}

/** The flags train and memory share: --method, --lora-rank, --lora-alpha, --modules-to-save. */
export function addAdapterOptions(command: Command): Command {
  return command
    .addOption(new Option('--method <name>', 'which weights train (default: full)').choices([...TRAINING_METHODS]))
    .addOption(new Option('--lora-rank <n>', 'adapter rank r (default: hidden size / 4)').argParser(positiveInteger))
    .addOption(new Option('--lora-alpha <x>', 'adapter scaling = alpha / r (default: r)').argParser(positiveNumber))
    .addOption(
      new Option(
        '--modules-to-save <names>',
        'modules trained in full beside the adapters (default: embed_tokens,norm,lm_head from scratch; none for a folder)',
      ).argParser(nameList),
    );
}

const ADAPTER_FLAGS = ['loraRank', 'loraAlpha', 'loraDropout', 'modulesToSave'] as const;
const RELORA_FLAGS = ['reloraResetEvery', 'reloraOptimizerReset'] as const;

/** Usage errors, before anything is built: each names the flag. */
export function checkMethodSettings(settings: RunSettings): void {
  const { method } = settings;
  if (!isTrainingMethod(method)) throw new Error(`--method '${method}' is not one of ${TRAINING_METHODS.join(', ')}`);
  const misplaced = (keys: readonly (keyof RunSettings)[], applies: string): void => {
    const given = keys.filter((k) => settings[k] !== undefined);
    if (given.length > 0)
      throw new Error(`${given.map(flagOf).join(', ')} only apply to --method ${applies}, not '${method}'`);
  };
  if (method === 'full') misplaced(ADAPTER_FLAGS, 'lora, relora or low_rank');
  if (method !== 'relora') misplaced(RELORA_FLAGS, 'relora');
  checkMethodOptimizer(method, settings.optimizer);
  const reset = settings.reloraOptimizerReset;
  if (reset !== undefined && !(OPTIMIZER_RESETS as readonly string[]).includes(reset))
    throw new Error(`--relora-optimizer-reset '${reset}' is not one of ${OPTIMIZER_RESETS.join(', ')}`);
  // 8-bit moments are codes, not values: say so before training rather than at the first restart.
  if (method === 'relora' && settings.optimizer.includes('8bit') && (reset ?? 'prune') !== 'none')
    throw new Error(
      `--optimizer ${settings.optimizer} keeps 8-bit codes that ReLoRA cannot ${reset ?? 'prune'}; use --relora-optimizer-reset none or --optimizer adamw`,
    );
}

/** Applies the method to a freshly built (or loaded) model; `pretrained` when fine-tuning a folder. */
export function applyMethod(model: LlamaForCausalLM, settings: RunSettings, pretrained: boolean): MethodSetup {
  checkMethodSettings(settings);
  const method = settings.method as (typeof TRAINING_METHODS)[number];
  const adapted = applyTrainingMethod(
    model,
    method,
    method === 'full'
      ? {}
      : {
          rank: settings.loraRank,
          alpha: settings.loraAlpha,
          dropout: settings.loraDropout,
          targetModules: settings.targetModules,
          modulesToSave: settings.modulesToSave ?? (pretrained ? [] : PRETRAINING_MODULES_TO_SAVE),
        },
    model.config.hidden_size,
  );
  if (method !== 'relora' || !adapted) return { adapted, hooks: [] };
  const resetEvery = reloraResetEvery(settings);
  return {
    adapted,
    hooks: [
      new ReloraHook(adapted, {
        resetEvery,
        optimizerReset: (settings.reloraOptimizerReset ?? 'prune') as OptimizerReset,
      }),
    ],
    schedule: jaggedCosine({
      warmupSteps: warmupOf(settings),
      totalSteps: settings.steps,
      restartEvery: resetEvery,
      minLrRatio: settings.minLrRatio,
    }),
  };
}

/** --relora-reset-every, by default a quarter of the run (three restarts). */
export function reloraResetEvery(settings: RunSettings): number {
  return settings.reloraResetEvery ?? Math.max(1, Math.floor(settings.steps / 4));
}

/**
 * Loads a checkpoint or Hugging Face folder as the run that wrote it trained it: a full model
 * directly; an adapted one rebuilt with its adapters, then filled from the folder's weights.
 */
export async function loadTrainedModel(
  folder: string,
  backend: Backend,
  saved: Partial<RunSettings>,
): Promise<{ model: LlamaForCausalLM; adapted: LoraModel | null }> {
  if (saved.method === undefined || saved.method === 'full')
    return { model: await LlamaForCausalLM.fromPretrained(folder, { backend }), adapted: null };
  const config = await readConfig(join(folder, 'config.json'));
  const model = new LlamaForCausalLM(config, { backend, dtype: config.torch_dtype ?? 'float32', initialize: false });
  try {
    const { adapted } = applyMethod(model, saved as RunSettings, true);
    await loadTensorsInto(join(folder, WEIGHTS_FILE), model.stateDict(), { aliases: model.parameterAliases() });
    return { model, adapted };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
