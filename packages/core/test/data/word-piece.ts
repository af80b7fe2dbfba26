/** Hugging Face tokenizer.json fixtures, shared by the tokenizer tests and the CLI's. */

/** An added (special) token entry of a tokenizer.json. */
export const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** A tiny WordPiece tokenizer.json, as the Rust `tokenizers` library serialises one. */
export const WORD_PIECE = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special(0, '[UNK]'), special(1, '[CLS]'), special(2, '[SEP]')],
  normalizer: { type: 'Lowercase' },
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab: { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, hello: 3, world: 4, '!': 5, gal: 6, '##ore': 7 },
  },
};
