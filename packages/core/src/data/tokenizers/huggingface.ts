import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ChatMessage, ChatTemplate, type RenderOptions } from '../chat/template.js';
import { checkTokenIds, type Tokenizer } from './tokenizer.js';
import { readTokenizerConfig, type TokenizerFolderConfig } from './tokenizer-config.js';

type HfTokenizer = import('@huggingface/tokenizers').Tokenizer;

/** Special-token spellings tried when tokenizer_config.json does not name BOS/EOS. */
const EOS_CANDIDATES = ['</s>', '<|endoftext|>', '<|end_of_text|>', '<eos>', '[SEP]'];
const BOS_CANDIDATES = ['<s>', '<|begin_of_text|>', '<bos>', '[CLS]'];

/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece or Unigram: LLaMA, Qwen, T5, GPT-NeoX, BERT, ...),
 * run by the pure-JS `@huggingface/tokenizers` package, which is imported only when one is loaded.
 * The folder's `tokenizer_config.json`, if present, supplies the special tokens (BOS, EOS, pad),
 * whether BOS/EOS are added, and the chat template (see tokenizer-config.ts).
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly eosId?: number;
  readonly bosId?: number;
  /** The pad token's id, when the folder names one. */
  readonly padId?: number;
  /** Whether transformers' `tokenizer(text)` puts BOS first / EOS last (add_bos_token, post-processor). */
  readonly addsBos: boolean;
  readonly addsEos: boolean;
  /** The folder's chat template, if it has one. */
  readonly chatTemplate?: ChatTemplate;

  private constructor(
    private readonly tokenizer: HfTokenizer,
    readonly path: string,
    config: TokenizerFolderConfig,
    chatTemplate: ChatTemplate | undefined,
  ) {
    this.name = `hf:${path}`;
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const special = config.specialTokens;
    const eosId = specialId(tokenizer, special.eos_token, EOS_CANDIDATES);
    const bosId = specialId(tokenizer, special.bos_token, BOS_CANDIDATES);
    const padId = typeof special.pad_token === 'string' ? tokenizer.token_to_id(special.pad_token) : undefined;
    if (eosId !== undefined) this.eosId = eosId;
    if (bosId !== undefined) this.bosId = bosId;
    if (padId !== undefined) this.padId = padId;
    // tokenizer.json's post-processor says what transformers adds; add_*_token in the config wins.
    const probe = tokenizer.encode('a', { add_special_tokens: true }).ids;
    this.addsBos = bosId !== undefined && (config.addBosToken ?? probe[0] === bosId);
    this.addsEos = eosId !== undefined && (config.addEosToken ?? probe.at(-1) === eosId);
    if (chatTemplate) this.chatTemplate = chatTemplate;
  }

  /** `path` is a tokenizer.json file or a folder that holds one. */
  static async load(path: string): Promise<HuggingFaceTokenizer> {
    const file = (await stat(path)).isDirectory() ? join(path, 'tokenizer.json') : path;
    const json = await readJson(file, 'tokenizer.json');
    if (typeof json !== 'object' || json === null || typeof (json as { model?: unknown }).model !== 'object') {
      throw new Error(`${file}: not a Hugging Face tokenizer.json (expected an object with a "model" field)`);
    }
    const folder = dirname(file);
    const config = await readTokenizerConfig(folder);
    const { Tokenizer } = await import('@huggingface/tokenizers');
    let tokenizer: HfTokenizer;
    try {
      tokenizer = new Tokenizer(json, config.raw as object);
    } catch (error) {
      throw new Error(`${file}: cannot build a tokenizer from it (${(error as Error).message})`);
    }
    const template =
      config.chatTemplate === undefined
        ? undefined
        : await ChatTemplate.compile(config.chatTemplate, config.specialTokens);
    return new HuggingFaceTokenizer(tokenizer, file, config, template);
  }

  /** Ids of `text` without special tokens added (special tokens written in the text are recognised). */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids as transformers' `tokenizer(text)` gives them: BOS / EOS added where this tokenizer adds them. */
  encodeWithSpecialTokens(text: string): number[] {
    const ids = this.encode(text);
    if (this.addsBos) ids.unshift(this.bosId!);
    if (this.addsEos) ids.push(this.eosId!);
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    checkTokenIds(ids, this.vocabSize, this.name);
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: true });
  }

  /** The conversation as the model's chat template writes it (text, special tokens included). */
  applyChatTemplate(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    if (!this.chatTemplate) {
      throw new Error(
        `${this.path}: this tokenizer has no chat template (tokenizer_config.json chat_template or chat_template.jinja)`,
      );
    }
    return this.chatTemplate.render(messages, options);
  }
}

/** The configured token's id; none when configured as null; else the first known candidate. */
function specialId(
  tokenizer: HfTokenizer,
  configured: string | null | undefined,
  candidates: readonly string[],
): number | undefined {
  if (configured === null) return undefined;
  if (configured !== undefined) return tokenizer.token_to_id(configured);
  for (const token of candidates) {
    const id = tokenizer.token_to_id(token);
    if (id !== undefined) return id;
  }
  return undefined;
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: ${what} is not valid JSON (${(error as Error).message})`);
  }
}
