import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkTokenIds, type Tokenizer } from './tokenizer.js';

type HfTokenizer = import('@huggingface/tokenizers').Tokenizer;

/** Special-token spellings tried when tokenizer_config.json does not name BOS/EOS. */
const EOS_CANDIDATES = ['</s>', '<|endoftext|>', '<|end_of_text|>', '<eos>', '[SEP]'];
const BOS_CANDIDATES = ['<s>', '<|begin_of_text|>', '<bos>', '[CLS]'];

/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece or Unigram: LLaMA, T5, GPT-NeoX, BERT, ...),
 * run by the pure-JS `@huggingface/tokenizers` package, which is imported only when one is loaded.
 * A `tokenizer_config.json` next to the file, if present, supplies the BOS/EOS tokens.
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly eosId?: number;
  readonly bosId?: number;

  private constructor(
    private readonly tokenizer: HfTokenizer,
    readonly path: string,
    special: { eosId: number | undefined; bosId: number | undefined },
  ) {
    this.name = `hf:${path}`;
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    if (special.eosId !== undefined) this.eosId = special.eosId;
    if (special.bosId !== undefined) this.bosId = special.bosId;
  }

  /** `path` is a tokenizer.json file or a folder that holds one. */
  static async load(path: string): Promise<HuggingFaceTokenizer> {
    const file = (await stat(path)).isDirectory() ? join(path, 'tokenizer.json') : path;
    const json = await readJson(file, 'tokenizer.json');
    if (typeof json !== 'object' || json === null || typeof (json as { model?: unknown }).model !== 'object') {
      throw new Error(`${file}: not a Hugging Face tokenizer.json (expected an object with a "model" field)`);
    }
    const configFile = join(dirname(file), 'tokenizer_config.json');
    const config = (await exists(configFile)) ? await readJson(configFile, 'tokenizer_config.json') : {};
    const { Tokenizer } = await import('@huggingface/tokenizers');
    let tokenizer: HfTokenizer;
    try {
      tokenizer = new Tokenizer(json, config as object);
    } catch (error) {
      throw new Error(`${file}: cannot build a tokenizer from it (${(error as Error).message})`);
    }
    return new HuggingFaceTokenizer(tokenizer, file, {
      eosId: specialId(tokenizer, config, 'eos_token', EOS_CANDIDATES),
      bosId: specialId(tokenizer, config, 'bos_token', BOS_CANDIDATES),
    });
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>): string {
    checkTokenIds(ids, this.vocabSize, this.name);
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: true });
  }
}

function specialId(
  tokenizer: HfTokenizer,
  config: unknown,
  key: string,
  candidates: readonly string[],
): number | undefined {
  const configured = (config as Record<string, unknown>)[key];
  const content = typeof configured === 'string' ? configured : (configured as { content?: unknown } | null)?.content;
  if (typeof content === 'string') return tokenizer.token_to_id(content);
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

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
