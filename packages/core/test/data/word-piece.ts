/** Hugging Face tokenizer.json fixtures, shared by the tokenizer tests and the CLI's. */

/** An added (special) token entry of a tokenizer.json, as the Rust `tokenizers` library serialises it. */
export const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/**
 * A tokenizer.json with `specials` as added tokens (ids 0, 1, ...) around `model`; the parts not
 * given are null, as the library writes them.
 */
export function tokenizerJson(parts: {
  specials: readonly string[];
  model: Record<string, unknown>;
  normalizer?: Record<string, unknown> | null;
  pre_tokenizer?: Record<string, unknown> | null;
  decoder: Record<string, unknown>;
}) {
  const { specials, model, normalizer = null, pre_tokenizer = null, decoder } = parts;
  const added_tokens = specials.map((content, id) => special(id, content));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens,
    normalizer,
    pre_tokenizer,
    post_processor: null,
    decoder,
    model,
  };
}

/** A whole-word WordPiece tokenizer.json over `specials` (ids 0, 1, ...), then `words`. */
export function wordPieceJson(
  specials: readonly string[],
  words: readonly string[],
  { unk, normalizer = null }: { unk: string; normalizer?: Record<string, unknown> | null },
) {
  return tokenizerJson({
    specials,
    normalizer,
    pre_tokenizer: { type: 'Whitespace' },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries([...specials, ...words].map((t, i) => [t, i])),
    },
  });
}

/** A tiny lower-casing WordPiece tokenizer.json. */
export const WORD_PIECE = wordPieceJson(['[UNK]', '[CLS]', '[SEP]'], ['hello', 'world', '!', 'gal', '##ore'], {
  unk: '[UNK]',
  normalizer: { type: 'Lowercase' },
});
