/**
 * A tiny Hugging Face tokenizer folder for tests: one token per character (BPE without merges),
 * special tokens <pad> <s> </s> <|system|> <|user|> <|assistant|> <unk>, and a chat template in the
 * style of Llama 3's (BOS, a role header per turn, EOS closing each turn).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tokenizerJson } from '../data/word-piece.js';

export const TINY_SPECIALS = ['<pad>', '<s>', '</s>', '<|system|>', '<|user|>', '<|assistant|>', '<unk>'];
const CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789 :\n?!.,=+-'];
export const TINY_VOCAB_SIZE = TINY_SPECIALS.length + CHARS.length;

/** A small decoder over this vocabulary (<s> = 1, </s> = 2): the chat fine-tuning tests' model sizes. */
export const TINY_CHAT_MODEL = {
  vocab_size: TINY_VOCAB_SIZE,
  hidden_size: 32,
  intermediate_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  max_position_embeddings: 64,
  bos_token_id: 1,
  eos_token_id: 2,
};

export const TINY_CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ '<|' + m.role + '|>' + m.content + eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

export async function writeTinyTokenizer(dir: string, config: Record<string, unknown> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const vocab: Record<string, number> = {};
  for (const [i, t] of [...TINY_SPECIALS, ...CHARS].entries()) vocab[t] = i;
  const tokenizer = tokenizerJson({
    specials: TINY_SPECIALS,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const tokenizerConfig = {
    bos_token: '<s>',
    eos_token: { content: '</s>', special: true },
    pad_token: '<pad>',
    add_bos_token: true,
    chat_template: TINY_CHAT_TEMPLATE,
    ...config,
  };
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
}
