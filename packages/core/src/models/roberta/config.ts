/**
 * RoBERTa / BERT encoder configuration with Hugging Face `config.json` field names. Missing
 * optional fields take transformers' defaults; fields that would change the maths and are not
 * implemented (another activation, relative positions, a decoder) are refused by name.
 */
import { readFile } from 'node:fs/promises';

export type EncoderModelType = 'roberta' | 'bert';
export type ProblemType = 'regression' | 'single_label_classification';

export interface EncoderConfig {
  model_type: EncoderModelType;
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: 'absolute';
  classifier_dropout: number | null;
  /** Class names by id as strings "0", "1", ...; their count is num_labels. */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  problem_type?: ProblemType | null;
  [extra: string]: unknown;
}

const DEFAULTS = {
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  position_embedding_type: 'absolute',
  classifier_dropout: null,
} as const;

export interface EncoderConfigOverrides {
  /** Number of labels of the classification head (1: regression). Replaces the config's id2label. */
  numLabels?: number;
  /** Class names by id; sets num_labels. */
  labels?: readonly string[];
  problemType?: ProblemType;
}

/** Number of labels of the head: the length of id2label. */
export function numLabels(config: EncoderConfig): number {
  return Object.keys(config.id2label).length;
}

/** The loss the head uses, as transformers infers it when problem_type is not set. */
export function problemTypeOf(config: EncoderConfig): ProblemType {
  if (config.problem_type) return config.problem_type;
  return numLabels(config) === 1 ? 'regression' : 'single_label_classification';
}

/** A complete config from a partial one (a parsed config.json), checked. */
export function encoderConfig(raw: Partial<EncoderConfig> & Record<string, unknown>, where = 'config'): EncoderConfig {
  const type = raw.model_type;
  if (type !== 'roberta' && type !== 'bert') {
    throw new Error(`${where}: model_type '${String(type)}' is not an encoder this library implements (roberta, bert)`);
  }
  for (const field of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size']) {
    const v = raw[field];
    if (!Number.isInteger(v) || (v as number) <= 0) {
      throw new Error(`${where}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  const config = {
    ...DEFAULTS,
    max_position_embeddings: 512,
    pad_token_id: type === 'roberta' ? 1 : 0,
    ...raw,
  } as EncoderConfig;
  if (config.hidden_act !== 'gelu') {
    throw new Error(`${where}: hidden_act '${config.hidden_act}' is not supported (only 'gelu', the erf form)`);
  }
  if (config.position_embedding_type !== 'absolute') {
    throw new Error(
      `${where}: position_embedding_type '${config.position_embedding_type}' is not supported (only 'absolute')`,
    );
  }
  for (const refused of ['is_decoder', 'add_cross_attention'] as const) {
    if (raw[refused]) throw new Error(`${where}: ${refused} is not supported (an encoder only)`);
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new Error(
      `${where}: hidden_size ${config.hidden_size} is not a multiple of num_attention_heads ${config.num_attention_heads}`,
    );
  }
  if (!raw.id2label) {
    const n = typeof raw.num_labels === 'number' ? raw.num_labels : 2;
    config.id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
  }
  config.label2id = Object.fromEntries(Object.entries(config.id2label).map(([id, name]) => [name, Number(id)]));
  delete config.num_labels;
  if (config.problem_type === ('multi_label_classification' as string)) {
    throw new Error(`${where}: problem_type 'multi_label_classification' is not supported`);
  }
  return config;
}

/** Applies the head's overrides (as transformers' from_pretrained(num_labels=..., problem_type=...)). */
export function withHead(config: EncoderConfig, overrides: EncoderConfigOverrides): EncoderConfig {
  const next = { ...config };
  if (overrides.labels) {
    next.id2label = Object.fromEntries(overrides.labels.map((name, i) => [String(i), name]));
  } else if (overrides.numLabels !== undefined && overrides.numLabels !== numLabels(config)) {
    if (!Number.isInteger(overrides.numLabels) || overrides.numLabels < 1) {
      throw new RangeError(`numLabels must be a positive integer, got ${overrides.numLabels}`);
    }
    next.id2label = Object.fromEntries(
      Array.from({ length: overrides.numLabels }, (_, i) => [String(i), `LABEL_${i}`]),
    );
  }
  next.label2id = Object.fromEntries(Object.entries(next.id2label).map(([id, name]) => [name, Number(id)]));
  if (overrides.problemType) next.problem_type = overrides.problemType;
  return next;
}

export async function readEncoderConfig(path: string): Promise<EncoderConfig> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  return encoderConfig(raw, path);
}
