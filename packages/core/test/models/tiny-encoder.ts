/** The sizes of the tiny RoBERTa / BERT encoder that the encoder tests of core and WebGPU build. */
export const TINY_ENCODER = Object.freeze({
  vocab_size: 13,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 12,
  max_position_embeddings: 12,
  type_vocab_size: 2,
  layer_norm_eps: 1e-5,
});

/** A batch of two padded sequences for it: ids, attention mask (the first row padded) and token types. */
export const TINY_ENCODER_BATCH = {
  ids: [
    [0, 5, 7, 2, 1, 1],
    [0, 9, 4, 11, 6, 2],
  ],
  mask: [
    [1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1],
  ],
  types: [
    [0, 0, 0, 1, 0, 0],
    [0, 0, 1, 1, 1, 1],
  ],
};
