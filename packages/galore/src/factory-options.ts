/**
 * The options createOptimizer takes, under our names or Hugging Face's (TrainingArguments'
 * `learning_rate`, `weight_decay`, `optim_target_modules`, and `optim_args`, the
 * "rank=128, update_proj_gap=200" string its GaLore integration reads), and which optimizer uses
 * each one. An option the named optimizer does not use is refused, not ignored.
 */
import { mergeDisjoint, normalizeOptions } from '@galore-ts/core';

export const BASE_OPTIMIZER_NAMES = [
  'adamw',
  'adamw_8bit',
  'galore_adamw',
  'galore_adamw_8bit',
  'galore_adafactor',
  'adafactor',
] as const;

export type BaseOptimizerName = (typeof BASE_OPTIMIZER_NAMES)[number];

const ALL = BASE_OPTIMIZER_NAMES;
const ADAM: readonly BaseOptimizerName[] = ['adamw', 'adamw_8bit', 'galore_adamw', 'galore_adamw_8bit'];
const GALORE: readonly BaseOptimizerName[] = ['galore_adamw', 'galore_adamw_8bit', 'galore_adafactor'];
const EIGHT_BIT: readonly BaseOptimizerName[] = ['adamw_8bit', 'galore_adamw_8bit'];
const ADAFACTOR: readonly BaseOptimizerName[] = ['galore_adafactor', 'adafactor'];

/** Every option createOptimizer knows (camelCase), with the optimizers that use it. */
export const FACTORY_OPTION_USERS = Object.freeze({
  lr: ALL,
  weightDecay: ALL,
  noDecay: ALL,
  betas: ADAM,
  eps: ADAM,
  rank: GALORE,
  targetModules: GALORE,
  updateProjGap: GALORE,
  scale: GALORE,
  projType: GALORE,
  svd: GALORE,
  oversampling: GALORE,
  powerIterations: GALORE,
  subspaceChange: GALORE,
  seed: GALORE,
  stateDType: ['galore_adamw'],
  blockSize: EIGHT_BIT,
  minQuantizedSize: EIGHT_BIT,
  beta1: ADAFACTOR,
  clipThreshold: ADAFACTOR,
  decayRate: ADAFACTOR,
  relativeStep: ADAFACTOR,
  scaleParameter: ADAFACTOR,
  warmupInit: ADAFACTOR,
  // The training loop's accumulation, which a layerwise updater must count too.
  gradientAccumulationSteps: ALL,
  // Refused by the layerwise updater, and meaningless without one (clipping is the loop's).
  maxGradNorm: ALL,
  hooks: ALL,
} satisfies Record<string, readonly BaseOptimizerName[]>);

const KNOWN = [...Object.keys(FACTORY_OPTION_USERS), 'optimArgs'];

/** Hugging Face's TrainingArguments names that are not the snake_case form of ours. */
const HF_NAMES = Object.freeze({ learning_rate: 'lr', optim_target_modules: 'targetModules' });

const WHERE = 'createOptimizer';

/**
 * The options keyed by our names, `optim_args` merged in, each one checked to be used by `base`.
 * `layerwise` says whether maxGradNorm reaches a layerwise updater (which refuses clipping).
 */
export function normalizeFactoryOptions(
  base: BaseOptimizerName,
  layerwise: boolean,
  options: object,
): Record<string, unknown> {
  const { optimArgs, ...direct } = normalizeOptions(WHERE, options, KNOWN, HF_NAMES);
  const fromArgs = optimArgs === undefined ? {} : parseOptimArgs(optimArgs);
  const all = mergeDisjoint(WHERE, direct, 'in the options', fromArgs, 'in optim_args');
  for (const key of Object.keys(all)) {
    const users: readonly BaseOptimizerName[] = FACTORY_OPTION_USERS[key as keyof typeof FACTORY_OPTION_USERS];
    if (!users.includes(base)) {
      throw new RangeError(`${WHERE}: '${base}' does not use ${key}; it applies to ${users.join(', ')}`);
    }
  }
  if (!layerwise && all.maxGradNorm !== undefined) {
    throw new RangeError(
      `${WHERE}: maxGradNorm is for the _layerwise optimizers only; without one, clip in the training loop (Trainer's maxGradNorm)`,
    );
  }
  return all;
}

/** Hugging Face's optim_args: "rank=128, update_proj_gap=200, proj_type=std", or the same as an object. */
function parseOptimArgs(args: unknown): Record<string, unknown> {
  const where = `${WHERE}: optim_args`;
  if (typeof args !== 'string') return normalizeOptions(where, args as object, KNOWN, HF_NAMES);
  const entries = args
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new RangeError(`${where}: expected key=value pairs separated by commas, got "${part}"`);
      return [part.slice(0, eq).trim(), parseValue(part.slice(eq + 1).trim())] as const;
    });
  return normalizeOptions(where, Object.fromEntries(entries), KNOWN, HF_NAMES);
}

/** A number or boolean when the text spells one, the text otherwise (option checks judge it). */
function parseValue(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : text;
}
