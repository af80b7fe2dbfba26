/**
 * LoRA settings, and their PEFT spelling (adapter_config.json). Every PEFT field that changes the
 * maths is either honoured or refused by name when read.
 */
import { ALL_LINEAR, type TargetModules } from './targets.js';

export interface LoraConfig {
  /** Rank of the update B A. */
  r: number;
  /** scaling = loraAlpha / r (or / sqrt(r) with useRslora). */
  loraAlpha: number;
  /** Dropout on the adapter's input in training mode. */
  loraDropout: number;
  /** PEFT's target_modules: a list of names, a regular expression, or 'all-linear'. */
  targetModules: TargetModules;
  /** Modules trained in full beside the adapters (PEFT's modules_to_save); the rest is frozen. */
  modulesToSave: readonly string[];
  useRslora: boolean;
  /** Recorded in adapter_config.json (PEFT's base_model_name_or_path). */
  baseModelNameOrPath: string | null;
}

export type LoraConfigInput = Partial<LoraConfig> & Pick<LoraConfig, 'r'>;

/** PEFT's LoraConfig defaults (lora_alpha 8, no dropout), with `all-linear` targets. */
export function loraConfig(input: LoraConfigInput): LoraConfig {
  const config: LoraConfig = {
    r: input.r,
    loraAlpha: input.loraAlpha ?? 8,
    loraDropout: input.loraDropout ?? 0,
    targetModules: input.targetModules ?? ALL_LINEAR,
    modulesToSave: input.modulesToSave ?? [],
    useRslora: input.useRslora ?? false,
    baseModelNameOrPath: input.baseModelNameOrPath ?? null,
  };
  const known = new Set(Object.keys(config));
  const unknown = Object.keys(input).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new RangeError(`loraConfig: unknown option(s) ${unknown.join(', ')}`);
  if (!Number.isInteger(config.r) || config.r < 1)
    throw new RangeError(`loraConfig: r must be a positive integer, got ${String(config.r)}`);
  if (!(Number.isFinite(config.loraAlpha) && config.loraAlpha > 0))
    throw new RangeError(`loraConfig: loraAlpha must be a number > 0, got ${String(config.loraAlpha)}`);
  if (!(config.loraDropout >= 0 && config.loraDropout < 1))
    throw new RangeError(`loraConfig: loraDropout must be in [0, 1), got ${String(config.loraDropout)}`);
  const targets = config.targetModules;
  if (typeof targets === 'string' ? targets === '' : !Array.isArray(targets) || targets.length === 0)
    throw new RangeError('loraConfig: targetModules must name at least one module (or be "all-linear")');
  return config;
}

/** adapter_config.json as PEFT writes it; `targetNames` are the short names of the wrapped layers. */
export function toPeftConfig(config: LoraConfig, targetNames: readonly string[]): Record<string, unknown> {
  return {
    base_model_name_or_path: config.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    modules_to_save: config.modulesToSave.length > 0 ? [...config.modulesToSave] : null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
    // PEFT saves the set of matched names (all-linear is expanded), or the regular expression as given.
    target_modules:
      typeof config.targetModules === 'string' && config.targetModules !== ALL_LINEAR
        ? config.targetModules
        : [...new Set(targetNames)].sort(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.useRslora,
  };
}

/** Fields whose non-default values change the maths and are not implemented, with the default we accept. */
const REFUSED: Record<string, (v: unknown) => boolean> = {
  bias: (v) => v === undefined || v === 'none',
  use_dora: (v) => !v,
  fan_in_fan_out: (v) => !v,
  rank_pattern: isEmpty,
  alpha_pattern: isEmpty,
  layers_to_transform: (v) => v === undefined || v === null,
  layer_replication: (v) => v === undefined || v === null,
  megatron_config: (v) => v === undefined || v === null,
  use_qalora: (v) => !v,
  lora_bias: (v) => !v,
};

/** Reads adapter_config.json (parsed): a LoRA config, or an error naming what is not supported. */
export function fromPeftConfig(json: Record<string, unknown>): LoraConfig {
  if (json.peft_type !== 'LORA')
    throw new Error(`adapter_config.json: peft_type ${JSON.stringify(json.peft_type)} is not supported (only "LORA")`);
  if (json.task_type !== undefined && json.task_type !== null && json.task_type !== 'CAUSAL_LM')
    throw new Error(`adapter_config.json: task_type ${JSON.stringify(json.task_type)} is not supported (CAUSAL_LM)`);
  const refused = Object.entries(REFUSED)
    .filter(([key, accepted]) => !accepted(json[key]))
    .map(([key]) => `${key}=${JSON.stringify(json[key])}`);
  if (refused.length > 0) throw new Error(`adapter_config.json: not supported: ${refused.join(', ')}`);
  const targets = json.target_modules;
  return loraConfig({
    r: json.r as number,
    loraAlpha: json.lora_alpha as number,
    loraDropout: (json.lora_dropout as number | undefined) ?? 0,
    targetModules: (typeof targets === 'string' ? targets : [...(targets as string[])]) as TargetModules,
    modulesToSave: (json.modules_to_save as string[] | null | undefined) ?? [],
    useRslora: Boolean(json.use_rslora),
    baseModelNameOrPath: (json.base_model_name_or_path as string | null | undefined) ?? null,
  });
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'object' && Object.keys(v as object).length === 0);
}
