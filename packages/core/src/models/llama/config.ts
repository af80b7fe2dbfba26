/**
 * Decoder configuration with Hugging Face `config.json` field names, for every family the one
 * decoder serves (LLaMA, Mistral, Qwen2: see ../families.ts), so a config written here is read by
 * transformers and one from the Hub is read here. Missing optional fields take the family's
 * transformers defaults; both RoPE spellings are read (../rope/scaling.ts); every setting that
 * would change the maths and is not implemented is refused by name instead of being ignored.
 */
import { readFile } from 'node:fs/promises';
import { atomicWriteFile } from '../../io/atomic-write.js';
import { DECODER_FAMILIES, familyOfArchitecture, isDecoderModelType } from '../families.js';
import type { DecoderFamily, DecoderModelType, ProjectionBiases } from '../family.js';
import { type RopeScaling, readRopeSettings } from '../rope/scaling.js';

/** Storage dtypes a checkpoint may declare in `torch_dtype`. */
export type LlamaTorchDType = 'float32' | 'bfloat16' | 'float16';

export interface LlamaConfig {
  model_type: DecoderModelType;
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Key/value heads; fewer than num_attention_heads means grouped-query attention. */
  num_key_value_heads: number;
  /** Dimension of one attention head (hidden_size / num_attention_heads unless stated). */
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** Scaled RoPE (transformers 4 spelling); null for plain RoPE. */
  rope_scaling: RopeScaling | null;
  /** Bias on q/k/v/o (LLaMA only; Qwen2's q/k/v biases are fixed by its architecture). */
  attention_bias: boolean;
  /** Bias on the MLP projections (LLaMA only). */
  mlp_bias: boolean;
  /** Mistral's attention window in tokens; null for full causal attention. */
  sliding_window?: number | null;
  tie_word_embeddings: boolean;
  /** Standard deviation of the normal initialisation of linear and embedding weights. */
  initializer_range: number;
  hidden_act: 'silu';
  torch_dtype?: LlamaTorchDType;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
}

/** The sizes a config must state; everything else has a default. */
type RequiredSizes = 'vocab_size' | 'hidden_size' | 'intermediate_size' | 'num_hidden_layers' | 'num_attention_heads';

export type LlamaConfigInput = Pick<LlamaConfig, RequiredSizes> &
  Partial<Omit<LlamaConfig, RequiredSizes | 'rope_scaling'>> & {
    rope_scaling?: RopeScaling | Readonly<Record<string, unknown>> | null;
  };

const REQUIRED_SIZES: readonly RequiredSizes[] = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
];

const TORCH_DTYPES: readonly LlamaTorchDType[] = ['float32', 'bfloat16', 'float16'];

/** Dimension of one attention head. */
export function headDim(
  config: Pick<LlamaConfig, 'hidden_size' | 'num_attention_heads'> & { head_dim?: number | null },
): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}

/** The family of a complete config. */
export function familyOf(config: Pick<LlamaConfig, 'model_type'>): DecoderFamily {
  return DECODER_FAMILIES[config.model_type];
}

/** Which projections of this config's model have a bias. */
export function projectionBiases(config: LlamaConfig): ProjectionBiases {
  const family = familyOf(config);
  if (family.fixedBiases) return family.fixedBiases;
  return { qkv: config.attention_bias, output: config.attention_bias, mlp: config.mlp_bias };
}

/**
 * Builds a complete, validated config from `input` (a config.json object or a partial config):
 * fills the family's defaults, accepts the aliases older files use, refuses unsupported features.
 */
export function llamaConfig(
  input: LlamaConfigInput | Readonly<Record<string, unknown>>,
  where = 'LlamaConfig',
): LlamaConfig {
  const raw = input as Readonly<Record<string, unknown>>;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TypeError(
      `${where}: expected a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`,
    );
  }
  const family = familyFor(raw, where);
  const unsupported = unsupportedSettings(raw, family);
  const own = family.readOwnFields(raw, unsupported);
  if (unsupported.length > 0) throw new Error(`${where}: unsupported setting(s): ${unsupported.join('; ')}`);
  const missing = REQUIRED_SIZES.filter((k) => raw[k] === undefined);
  if (missing.length > 0) throw new Error(`${where}: missing required field(s) ${missing.join(', ')}`);
  const heads = raw.num_attention_heads as number;
  const defaults = family.defaults;
  const config: LlamaConfig = {
    model_type: family.modelType,
    vocab_size: raw.vocab_size as number,
    hidden_size: raw.hidden_size as number,
    intermediate_size: raw.intermediate_size as number,
    num_hidden_layers: raw.num_hidden_layers as number,
    num_attention_heads: heads,
    num_key_value_heads: (raw.num_key_value_heads ?? defaults.num_key_value_heads ?? heads) as number,
    head_dim: (raw.head_dim ?? (raw.hidden_size as number) / heads) as number,
    // Older configs (GaLore's, transformers 4.28) name the context length max_sequence_length.
    max_position_embeddings: (raw.max_position_embeddings ??
      raw.max_sequence_length ??
      defaults.max_position_embeddings) as number,
    rms_norm_eps: (raw.rms_norm_eps ?? defaults.rms_norm_eps) as number,
    ...readRopeSettings(raw, defaults.rope_theta, where),
    attention_bias: (raw.attention_bias ?? false) as boolean,
    mlp_bias: (raw.mlp_bias ?? false) as boolean,
    ...own,
    tie_word_embeddings: (raw.tie_word_embeddings ?? false) as boolean,
    initializer_range: (raw.initializer_range ?? 0.02) as number,
    hidden_act: 'silu',
  };
  if (raw.architectures !== undefined) config.architectures = raw.architectures as string[];
  const dtype = raw.torch_dtype ?? raw.dtype;
  if (dtype !== undefined && dtype !== null) config.torch_dtype = dtype as LlamaTorchDType;
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
    if (raw[key] !== undefined) (config as unknown as Record<string, unknown>)[key] = raw[key];
  }
  validateLlamaConfig(config, where);
  return config;
}

/** By model_type, as transformers' AutoConfig; else by the class named in architectures; else LLaMA. */
function familyFor(raw: Readonly<Record<string, unknown>>, where: string): DecoderFamily {
  const named = Array.isArray(raw.architectures) ? raw.architectures.map(String) : [];
  const byClass = named.map(familyOfArchitecture).find((f) => f !== undefined);
  const type = raw.model_type ?? byClass?.modelType ?? 'llama';
  if (isDecoderModelType(type)) return DECODER_FAMILIES[type];
  throw new Error(
    `${where}: unsupported setting(s): model_type ${JSON.stringify(type)} (expected one of ${Object.keys(DECODER_FAMILIES).join(', ')})`,
  );
}

/** Settings every family refuses: each would change the maths and none is implemented. */
function unsupportedSettings(raw: Readonly<Record<string, unknown>>, family: DecoderFamily): string[] {
  const unsupported: string[] = [];
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') {
    unsupported.push(`hidden_act ${JSON.stringify(raw.hidden_act)} (only "silu")`);
  }
  if (family.fixedBiases) {
    for (const key of ['attention_bias', 'mlp_bias']) {
      if (raw[key] === true) unsupported.push(`${key}: true (${family.architecture} has no such option)`);
    }
  }
  if (typeof raw.pretraining_tp === 'number' && raw.pretraining_tp > 1) {
    unsupported.push(`pretraining_tp ${raw.pretraining_tp}`);
  }
  if (typeof raw.attention_dropout === 'number' && raw.attention_dropout !== 0) {
    unsupported.push(`attention_dropout ${raw.attention_dropout} (only 0)`);
  }
  if (raw.partial_rotary_factor !== undefined && raw.partial_rotary_factor !== 1) {
    unsupported.push(`partial_rotary_factor ${JSON.stringify(raw.partial_rotary_factor)} (only 1)`);
  }
  if (raw.quantization_config !== undefined && raw.quantization_config !== null) {
    unsupported.push('quantization_config (quantized checkpoints)');
  }
  if (Array.isArray(raw.layer_types) && raw.layer_types.some((t) => t !== 'full_attention')) {
    unsupported.push('layer_types other than "full_attention"');
  }
  return unsupported;
}

/** Throws one error listing every invalid field of a complete config. */
export function validateLlamaConfig(config: LlamaConfig, where = 'LlamaConfig'): void {
  const problems: string[] = [];
  const positiveInt = (key: keyof LlamaConfig) => {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      problems.push(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  };
  for (const key of [...REQUIRED_SIZES, 'num_key_value_heads', 'max_position_embeddings'] as const) positiveInt(key);
  const positive = (key: keyof LlamaConfig) => {
    const v = config[key];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      problems.push(`${key} must be a positive number, got ${JSON.stringify(v)}`);
    }
  };
  positive('rms_norm_eps');
  positive('rope_theta');
  for (const key of ['attention_bias', 'mlp_bias'] as const) {
    if (typeof config[key] !== 'boolean')
      problems.push(`${key} must be true or false, got ${JSON.stringify(config[key])}`);
  }
  const window = config.sliding_window;
  if (window !== undefined && window !== null && !(Number.isInteger(window) && window > 0)) {
    problems.push(`sliding_window must be a positive integer or null, got ${JSON.stringify(window)}`);
  }
  if (typeof config.initializer_range !== 'number' || !(config.initializer_range >= 0)) {
    problems.push(`initializer_range must be a number >= 0, got ${JSON.stringify(config.initializer_range)}`);
  }
  if (typeof config.tie_word_embeddings !== 'boolean') {
    problems.push(`tie_word_embeddings must be true or false, got ${JSON.stringify(config.tie_word_embeddings)}`);
  }
  if (config.torch_dtype !== undefined && !TORCH_DTYPES.includes(config.torch_dtype)) {
    problems.push(`torch_dtype must be one of ${TORCH_DTYPES.join(', ')}, got ${JSON.stringify(config.torch_dtype)}`);
  }
  if (
    config.architectures !== undefined &&
    (!Array.isArray(config.architectures) || config.architectures.some((a) => typeof a !== 'string'))
  ) {
    problems.push(`architectures must be a list of strings, got ${JSON.stringify(config.architectures)}`);
  }
  const { hidden_size: hidden, num_attention_heads: heads, num_key_value_heads: kvHeads } = config;
  if (problems.length === 0) {
    const d = config.head_dim;
    if (!(Number.isInteger(d) && d > 0)) {
      problems.push(
        d * heads === hidden
          ? `hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`
          : `head_dim must be a positive integer, got ${JSON.stringify(d)}`,
      );
    } else if (d % 2 !== 0) {
      problems.push(`head dimension head_dim = ${d} must be even (RoPE rotates pairs)`);
    }
    if (heads % kvHeads !== 0) {
      problems.push(`num_attention_heads ${heads} is not divisible by num_key_value_heads ${kvHeads}`);
    }
  }
  if (problems.length > 0) throw new Error(`${where}: invalid config: ${problems.join('; ')}`);
}

/** Reads and validates a Hugging Face config.json. */
export async function readConfig(path: string): Promise<LlamaConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`readConfig: cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`readConfig: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return llamaConfig(json as Record<string, unknown>, `readConfig(${path})`);
}

/**
 * Writes `config` as config.json (atomically), with model_type and architectures filled in as
 * transformers expects.
 */
export async function writeConfig(path: string, config: LlamaConfig): Promise<void> {
  validateLlamaConfig(config, `writeConfig(${path})`);
  const out = { ...config, architectures: config.architectures ?? [familyOf(config).architecture] };
  await atomicWriteFile(path, `${JSON.stringify(out, null, 2)}\n`);
}
