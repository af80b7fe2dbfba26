/**
 * Optimizers by their Hugging Face names, for the CLI and for scripts:
 *   adamw               core AdamW (torch.optim.AdamW)
 *   adamw_8bit          AdamW8bit (bitsandbytes' AdamW8bit)
 *   galore_adamw        GaLoreAdamW on the target weights, the official update elsewhere
 *   galore_adamw_8bit   GaLoreAdamW8bit
 *   galore_adafactor    GaLoreAdafactor (fixed lr: relativeStep and scaleParameter off, as HF does)
 *   adafactor           the same Adafactor with nothing projected (HF's `adafactor`)
 * and each galore_* name with `_layerwise`, which adds a LayerwiseUpdater.
 */
import { AdamW, type Optimizer, type OptionsInput, type ParamGroupSpec, type Tensor } from '@galore-ts/core';
import { BASE_OPTIMIZER_NAMES, type BaseOptimizerName, normalizeFactoryOptions } from './factory-options.js';
import { LayerwiseUpdater } from './layerwise.js';
import type { StateDType } from './optim/adam-math.js';
import { AdamW8bit, type AdamW8bitOptions } from './optim/adamw8bit.js';
import { GaLoreAdafactor, type GaLoreAdafactorOptions } from './optim/galore-adafactor.js';
import { GaLoreAdamW, type GaLoreAdamWOptions } from './optim/galore-adamw.js';
import { GaLoreAdamW8bit, type GaLoreAdamW8bitOptions } from './optim/galore-adamw8bit.js';
import type { GaLoreOptimizerHooks } from './optim/galore-optimizer.js';
import type { GaLoreSettings } from './optim/options.js';
import type { BlockSize } from './quantization/blockwise.js';
import { defaultGaLoreRank, hiddenSizeOf } from './rank.js';
import { selectTargets, type TargetModules } from './targets.js';

/** Every accepted name. */
export const OPTIMIZER_NAMES = [
  ...BASE_OPTIMIZER_NAMES,
  'galore_adamw_layerwise',
  'galore_adamw_8bit_layerwise',
  'galore_adafactor_layerwise',
] as const;

export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export function isOptimizerName(name: string): name is OptimizerName {
  return (OPTIMIZER_NAMES as readonly string[]).includes(name);
}

export interface CreateOptimizerOptions extends Partial<GaLoreSettings> {
  lr?: number;
  weightDecay?: number;
  /** Adam family. */
  betas?: readonly [number, number];
  eps?: number;
  /** GaLore rank for the target weights (default: defaultGaLoreRank of their hidden size, see rank.ts). */
  rank?: number;
  /** HF `optim_target_modules` (default ["attn", "mlp"]). */
  targetModules?: TargetModules;
  /** GaLoreAdamW moments' dtype. */
  stateDType?: StateDType;
  /** 8-bit optimizers. */
  blockSize?: BlockSize;
  minQuantizedSize?: number;
  /** Adafactor. */
  beta1?: number | null;
  clipThreshold?: number;
  decayRate?: number;
  relativeStep?: boolean;
  scaleParameter?: boolean;
  warmupInit?: boolean;
  /**
   * Parameters whose name contains one of these get no weight decay, as run_glue.py's
   * `no_decay = ["bias", "LayerNorm.weight"]` (see NO_DECAY_BIAS_AND_NORM): each group is split into
   * a decayed part and a part with weightDecay 0.
   */
  noDecay?: readonly string[];
  /**
   * Micro-batches per optimizer step: the training loop's, which a layerwise updater must count too
   * (unused without _layerwise). maxGradNorm: layerwise only, where any value > 0 is refused (see
   * layerwise.ts); without _layerwise clipping belongs to the training loop and it is refused here.
   */
  gradientAccumulationSteps?: number;
  maxGradNorm?: number;
  hooks?: GaLoreOptimizerHooks;
  /**
   * Hugging Face's `optim_args`: more of these options, as "rank=64, update_proj_gap=100" or an
   * object. An option given both here and directly is refused.
   */
  optimArgs?: string | Record<string, unknown>;
}

export interface CreatedOptimizer {
  name: OptimizerName;
  optimizer: Optimizer;
  /** Set for `_layerwise` names: drive training with layerwise.backward(loss), never optimizer.step(). */
  layerwise: LayerwiseUpdater | null;
  /** Names of the projected weights (empty for adamw / adamw_8bit). */
  projected: string[];
}

/**
 * Builds the optimizer `name` over `namedParams` (e.g. model.namedParameters()). Options may use our
 * names or Hugging Face's (see factory-options.ts); an unknown option, or one the named optimizer
 * does not use, is refused, and invalid values throw before training starts.
 */
export function createOptimizer(
  name: string,
  namedParams: Iterable<readonly [string, Tensor]>,
  options: OptionsInput<CreateOptimizerOptions> = {},
): CreatedOptimizer {
  if (!isOptimizerName(name)) {
    throw new RangeError(`createOptimizer: unknown optimizer '${name}'; expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const layerwise = name.endsWith('_layerwise');
  const base = (layerwise ? name.slice(0, -'_layerwise'.length) : name) as BaseOptimizerName;
  // Each option is now known and used by `base` (normalizeFactoryOptions refuses the others).
  const o = normalizeFactoryOptions(base, layerwise, options) as CreateOptimizerOptions;
  const adam = pick(o, ['lr', 'betas', 'eps', 'weightDecay']);
  const eightBit = pick(o, ['blockSize', 'minQuantizedSize']);
  let optimizer: Optimizer;
  let projected: string[] = [];
  if (base === 'adamw' || base === 'adamw_8bit' || base === 'adafactor') {
    const all = dedupe([...namedParams].map(([n, t]) => [n, t] as [string, Tensor]));
    const spec = exemptFromDecay([{ params: all.map(([, t]) => t), names: all.map(([n]) => n) }], o.noDecay);
    if (base === 'adamw') optimizer = new AdamW(spec, adam);
    else if (base === 'adamw_8bit')
      optimizer = new AdamW8bit(spec as ParamGroupSpec<AdamW8bitOptions>[], { ...adam, ...eightBit });
    else
      optimizer = new GaLoreAdafactor(spec as ParamGroupSpec<GaLoreAdafactorOptions>[], adafactorOptions(o), o.hooks);
  } else {
    const { targets, others } = selectTargets(namedParams, o.targetModules);
    projected = targets.map(([n]) => n);
    const galore = {
      rank: o.rank ?? defaultGaLoreRank(hiddenSizeOf(targets.map(([, t]) => t))),
      ...pick(o, [
        'updateProjGap',
        'scale',
        'projType',
        'svd',
        'oversampling',
        'powerIterations',
        'subspaceChange',
        'seed',
      ]),
    };
    // Regular parameters first, then the projected group, as the official script orders them.
    const groups = exemptFromDecay(
      [
        ...(others.length > 0 ? [{ params: others.map(([, t]) => t), names: others.map(([n]) => n) }] : []),
        { params: targets.map(([, t]) => t), names: targets.map(([n]) => n), ...galore },
      ],
      o.noDecay,
    );
    if (base === 'galore_adamw') {
      optimizer = new GaLoreAdamW(
        groups as ParamGroupSpec<GaLoreAdamWOptions>[],
        { ...adam, ...pick(o, ['stateDType']) },
        o.hooks,
      );
    } else if (base === 'galore_adamw_8bit') {
      optimizer = new GaLoreAdamW8bit(
        groups as ParamGroupSpec<GaLoreAdamW8bitOptions>[],
        { ...adam, ...eightBit },
        o.hooks,
      );
    } else {
      optimizer = new GaLoreAdafactor(groups as ParamGroupSpec<GaLoreAdafactorOptions>[], adafactorOptions(o), o.hooks);
    }
  }
  // The GaLore classes take it from hooks themselves; core's AdamW has no hooks.
  optimizer.onSkippedUpdate = o.hooks?.onSkippedUpdate;
  const updater = layerwise
    ? new LayerwiseUpdater(optimizer, {
        accumulationSteps: o.gradientAccumulationSteps ?? 1,
        maxGradNorm: o.maxGradNorm,
      })
    : null;
  return { name, optimizer, layerwise: updater, projected };
}

/** Hugging Face's adafactor and galore_adafactor: a fixed, scheduled lr (relativeStep and scaleParameter off). */
function adafactorOptions(o: CreateOptimizerOptions): Partial<GaLoreAdafactorOptions> {
  const adafactor: Partial<GaLoreAdafactorOptions> = {
    relativeStep: o.relativeStep ?? false,
    scaleParameter: o.scaleParameter ?? false,
    ...pick(o, ['weightDecay', 'beta1', 'clipThreshold', 'decayRate', 'warmupInit'] as const),
  };
  // With relativeStep Adafactor takes no lr: one given is passed on for the class to refuse.
  adafactor.lr = o.lr ?? (adafactor.relativeStep ? undefined : 1e-3);
  return adafactor;
}

/** transformers' run_glue.py and Trainer: biases and LayerNorm weights are not decayed. */
export const NO_DECAY_BIAS_AND_NORM: readonly string[] = Object.freeze(['bias', 'LayerNorm.weight']);

/**
 * Each group split in two, keeping its settings: the parameters named by none of `noDecay`, and
 * those named by one (substring match, as run_glue.py) with weightDecay 0. Empty parts are dropped.
 */
function exemptFromDecay<G extends { params: Tensor[]; names: string[] }>(
  groups: G[],
  noDecay: readonly string[] | undefined,
): (G & { weightDecay?: number })[] {
  if (noDecay === undefined) return groups;
  if (!Array.isArray(noDecay) || noDecay.some((s) => typeof s !== 'string' || s === '')) {
    throw new TypeError(
      `createOptimizer: noDecay must be a list of non-empty name parts; got ${JSON.stringify(noDecay)}`,
    );
  }
  return groups.flatMap((group) => {
    const exempt = group.names.map((name) => noDecay.some((part) => name.includes(part)));
    const part = (exempted: boolean) => ({
      ...group,
      params: group.params.filter((_, i) => exempt[i] === exempted),
      names: group.names.filter((_, i) => exempt[i] === exempted),
    });
    return [part(false), { ...part(true), weightDecay: 0 }].filter((g) => g.params.length > 0);
  });
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function dedupe(params: [string, Tensor][]): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return params.filter(([, t]) => {
    if (seen.has(t)) return false;
    seen.add(t);
    return true;
  });
}
