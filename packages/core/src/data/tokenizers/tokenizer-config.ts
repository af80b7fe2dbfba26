/**
 * The parts of a Hugging Face tokenizer folder beside tokenizer.json that change how text becomes
 * ids: tokenizer_config.json's special tokens (bos, eos, pad, unk; a string or an AddedToken
 * object), add_bos_token / add_eos_token, and the chat template (chat_template.jinja, which
 * transformers writes since 4.43, else tokenizer_config.json's chat_template, a string or a list
 * of named templates of which 'default' is used).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const;
export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

export interface TokenizerFolderConfig {
  /** Special tokens as text, by their transformers names; null where the config says there is none. */
  specialTokens: Partial<Record<SpecialTokenKey, string | null>>;
  /** Explicit add_bos_token / add_eos_token; undefined: whatever tokenizer.json's post-processor does. */
  addBosToken?: boolean;
  addEosToken?: boolean;
  chatTemplate?: string;
  /** tokenizer_config.json as read ({} when absent), for the tokenizer library's own options. */
  raw: Readonly<Record<string, unknown>>;
}

export async function readTokenizerConfig(dir: string): Promise<TokenizerFolderConfig> {
  const path = join(dir, TOKENIZER_CONFIG_FILE);
  const raw = (await isFile(path)) ? await readJsonObject(path) : {};
  const config: TokenizerFolderConfig = { specialTokens: {}, raw };
  for (const key of SPECIAL_TOKEN_KEYS) {
    const text = raw[key] === null ? null : tokenText(raw[key]);
    if (text !== undefined) config.specialTokens[key] = text;
  }
  if (typeof raw.add_bos_token === 'boolean') config.addBosToken = raw.add_bos_token;
  if (typeof raw.add_eos_token === 'boolean') config.addEosToken = raw.add_eos_token;
  const templateFile = join(dir, CHAT_TEMPLATE_FILE);
  const template = (await isFile(templateFile))
    ? await readFile(templateFile, 'utf8')
    : chatTemplateOf(raw.chat_template, path);
  if (template !== undefined) config.chatTemplate = template;
  return config;
}

function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const content = (value as { content?: unknown } | null | undefined)?.content;
  return typeof content === 'string' ? content : undefined;
}

function chatTemplateOf(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => (t as { name?: unknown })?.name === 'default') as
      | { template?: unknown }
      | undefined;
    if (typeof named?.template === 'string') return named.template;
    const names = value.map((t) => JSON.stringify((t as { name?: unknown })?.name)).join(', ');
    throw new Error(`${path}: chat_template lists templates ${names} but none named "default"`);
  }
  throw new Error(`${path}: chat_template must be a string or a list of {name, template}`);
}

async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${path}: expected a JSON object`);
  return json as Record<string, unknown>;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
