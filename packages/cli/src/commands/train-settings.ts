/**
 * The settings of a training run: the defaults (a run of llama_tiny on the shipped corpus that
 * finishes in a few minutes on two CPU cores), and how a resumed run takes the saved ones for
 * every flag not given again.
 */
import { resolve } from 'node:path';
import type { StateDType } from '@galore-ts/galore';
import { DEFAULT_CORPUS } from '../paths.js';
import type { DataFormatName } from '../setup/data.js';

/** The dtypes the CLI stores weights in (train's --dtype, memory's --dtype). */
export const MODEL_DTYPES = ['float32', 'bfloat16'] as const;
export type ModelDType = (typeof MODEL_DTYPES)[number];

export interface RunSettings {
  model: string;
  data: string;
  tokenizer: string;
  optimizer: string;
  lr: number;
  weightDecay: number;
  batchSize: number;
  seqLen: number;
  gradAccum: number;
  steps: number;
  /** Warmup steps; undefined means 10% of steps (the GaLore recipe). */
  warmup?: number;
  minLrRatio: number;
  /** 0 disables clipping; undefined means 1.0, or 0 for layerwise optimizers (which cannot clip). */
  maxGradNorm?: number;
  evalEvery: number;
  evalBatches: number;
  saveEvery: number;
  keepCheckpoints: number;
  seed: number;
  dtype: ModelDType;
  /** Recompute each layer's activations in backward instead of keeping them. */
  gradientCheckpointing?: boolean;
  /** galore_adamw's moment dtype (default float32). */
  optimDtype?: StateDType;
  rank?: number;
  updateProjGap?: number;
  galoreScale?: number;
  projType?: string;
  targetModules?: string[];
  /** full, lora, relora or low_rank (see setup/method.ts). */
  method: string;
  loraRank?: number;
  loraAlpha?: number;
  loraDropout?: number;
  modulesToSave?: string[];
  reloraResetEvery?: number;
  reloraOptimizerReset?: string;
  /** How --data is read: packed text (default) or instruction data with response-only loss. */
  format?: DataFormatName;
  /** JSONL field holding the text (packed text). */
  textField?: string;
  /** A separate validation file in the same format. */
  evalData?: string;
  /** Passes over instruction data (sets --steps when it is not given). */
  epochs?: number;
}

export const DEFAULT_SETTINGS: RunSettings = {
  model: 'llama_tiny',
  data: DEFAULT_CORPUS,
  tokenizer: 'byte',
  optimizer: 'adamw',
  lr: 3e-3,
  weightDecay: 0,
  batchSize: 8,
  seqLen: 64,
  gradAccum: 1,
  steps: 150,
  minLrRatio: 0.1,
  evalEvery: 50,
  evalBatches: 4,
  saveEvery: 50,
  keepCheckpoints: 2,
  seed: 0,
  dtype: 'float32',
  method: 'full',
};

/** Settings keys that change what a resumed run computes, so a resume keeps the saved values unless re-given. */
export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS).concat([
  'warmup',
  'maxGradNorm',
  'gradientCheckpointing',
  'optimDtype',
  'rank',
  'updateProjGap',
  'galoreScale',
  'projType',
  'targetModules',
  'loraRank',
  'loraAlpha',
  'loraDropout',
  'modulesToSave',
  'reloraResetEvery',
  'reloraOptimizerReset',
  'format',
  'textField',
  'evalData',
  'epochs',
]) as (keyof RunSettings)[];

/**
 * defaults <- saved (a resumed run's) <- flags given on this command line (`given` holds only
 * those). Paths are made absolute so a run resumes from any working folder.
 */
export function mergeSettings(given: Partial<RunSettings>, saved?: Partial<RunSettings>): RunSettings {
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of SETTING_KEYS) {
    const value = given[key] ?? saved?.[key];
    if (value !== undefined) out[key] = value;
  }
  const settings = out as unknown as RunSettings;
  settings.data = resolve(settings.data);
  if (settings.evalData !== undefined) settings.evalData = resolve(settings.evalData);
  if (settings.tokenizer !== 'byte' && settings.tokenizer !== 'gpt2') settings.tokenizer = resolve(settings.tokenizer);
  if (!isPresetLike(settings.model)) settings.model = resolve(settings.model);
  return settings;
}

/** Preset names have no path separators or extension; anything else is a path. */
function isPresetLike(model: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(model);
}

/** The warmup the schedule uses: the setting, or 10% of the steps. */
export function warmupOf(settings: RunSettings): number {
  return settings.warmup ?? Math.floor(settings.steps / 10);
}
