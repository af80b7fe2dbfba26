/**
 * LLaMA configuration with Hugging Face `config.json` field names, so a config written here is
 * read by transformers' LlamaConfig and one from the Hub is read here. Missing optional fields take
 * transformers' defaults; features this implementation lacks (biases, rope scaling, other
 * activations) are refused with a clear error instead of being silently ignored.
 */
import { readFile } from 'node:fs/promises';
import { atomicWriteFile } from '../../io/atomic-write.js';

/** Storage dtypes a LLaMA checkpoint may declare in `torch_dtype`. */
export type LlamaTorchDType = 'float32' | 'bfloat16' | 'float16';

export interface LlamaConfig {
  model_type: 'llama';
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Key/value heads; fewer than num_attention_heads means grouped-query attention. */
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
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

export type LlamaConfigInput = Pick<LlamaConfig, RequiredSizes> & Partial<Omit<LlamaConfig, RequiredSizes>>;

/** transformers' LlamaConfig defaults for the optional fields. */
const DEFAULTS = {
  model_type: 'llama',
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  initializer_range: 0.02,
  hidden_act: 'silu',
} as const;

const REQUIRED_SIZES: readonly RequiredSizes[] = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
];

const TORCH_DTYPES: readonly LlamaTorchDType[] = ['float32', 'bfloat16', 'float16'];

/** Dimension of one attention head. */
export function headDim(config: Pick<LlamaConfig, 'hidden_size' | 'num_attention_heads'>): number {
  return config.hidden_size / config.num_attention_heads;
}

/**
 * Builds a complete, validated config from `input` (a config.json object or a partial config):
 * fills defaults, accepts the aliases older files use, refuses unsupported features.
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
  refuseUnsupported(raw, where);
  const missing = REQUIRED_SIZES.filter((k) => raw[k] === undefined);
  if (missing.length > 0) throw new Error(`${where}: missing required field(s) ${missing.join(', ')}`);
  const heads = raw.num_attention_heads;
  const config: LlamaConfig = {
    model_type: 'llama',
    vocab_size: raw.vocab_size as number,
    hidden_size: raw.hidden_size as number,
    intermediate_size: raw.intermediate_size as number,
    num_hidden_layers: raw.num_hidden_layers as number,
    num_attention_heads: heads as number,
    num_key_value_heads: (raw.num_key_value_heads ?? heads) as number,
    // Older configs (GaLore's, transformers 4.28) name the context length max_sequence_length.
    max_position_embeddings: (raw.max_position_embeddings ??
      raw.max_sequence_length ??
      DEFAULTS.max_position_embeddings) as number,
    rms_norm_eps: (raw.rms_norm_eps ?? DEFAULTS.rms_norm_eps) as number,
    rope_theta: (raw.rope_theta ?? DEFAULTS.rope_theta) as number,
    tie_word_embeddings: (raw.tie_word_embeddings ?? DEFAULTS.tie_word_embeddings) as boolean,
    initializer_range: (raw.initializer_range ?? DEFAULTS.initializer_range) as number,
    hidden_act: DEFAULTS.hidden_act,
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

function refuseUnsupported(raw: Readonly<Record<string, unknown>>, where: string): void {
  const unsupported: string[] = [];
  if (raw.model_type !== undefined && raw.model_type !== 'llama') {
    unsupported.push(`model_type ${JSON.stringify(raw.model_type)} (expected "llama")`);
  }
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') {
    unsupported.push(`hidden_act ${JSON.stringify(raw.hidden_act)} (only "silu")`);
  }
  if (raw.attention_bias === true) unsupported.push('attention_bias: true');
  if (raw.mlp_bias === true) unsupported.push('mlp_bias: true');
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) unsupported.push('rope_scaling (only plain RoPE)');
  if (typeof raw.pretraining_tp === 'number' && raw.pretraining_tp > 1) {
    unsupported.push(`pretraining_tp ${raw.pretraining_tp}`);
  }
  if (
    raw.head_dim !== undefined &&
    raw.head_dim !== null &&
    typeof raw.hidden_size === 'number' &&
    typeof raw.num_attention_heads === 'number' &&
    raw.head_dim !== raw.hidden_size / raw.num_attention_heads
  ) {
    unsupported.push(`head_dim ${String(raw.head_dim)} (must equal hidden_size / num_attention_heads)`);
  }
  if (unsupported.length > 0) throw new Error(`${where}: unsupported setting(s): ${unsupported.join('; ')}`);
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
    if (hidden % heads !== 0) {
      problems.push(`hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
    } else if ((hidden / heads) % 2 !== 0) {
      problems.push(
        `head dimension hidden_size / num_attention_heads = ${hidden / heads} must be even (RoPE rotates pairs)`,
      );
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
  const out = { ...config, model_type: 'llama', architectures: config.architectures ?? ['LlamaForCausalLM'] };
  await atomicWriteFile(path, `${JSON.stringify(out, null, 2)}\n`);
}
