/**
 * A synthetic task in SST-2's file format that a tiny encoder learns in a few epochs: sentences of
 * the words w0..w5, positive exactly when "good" appears. Shared by the GLUE tests of core, galore
 * and the CLI.
 */
import { type EncodedExample, encodeGlueExample, parseGlueTsv } from '../../src/index.js';

export const SST2_WORDS = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'good'];

/** RoBERTa's pair layout with <s> = 0, <pad> = 1, </s> = 2; the words take ids from 3. */
export const ROBERTA_LAYOUT = { style: 'roberta', clsId: 0, sepId: 2, padId: 1 } as const;

/** A one-layer RoBERTa over those ids, without dropout. */
export const TINY_ROBERTA = {
  model_type: 'roberta' as const,
  vocab_size: 3 + SST2_WORDS.length,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 20,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
};

/** `n` sentences of 2 to 6 words, half of them containing "good", reproducible from `seed`. */
export function syntheticSentences(n: number, seed: number): { text: string; positive: boolean }[] {
  let s = seed;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const length = 2 + Math.floor(rand() * 5);
    const words = Array.from({ length }, () => SST2_WORDS[Math.floor(rand() * 6)]!);
    const positive = rand() < 0.5;
    if (positive) words[Math.floor(rand() * length)] = 'good';
    return { text: words.join(' '), positive };
  });
}

/** `n` rows of SST-2's `sentence\tlabel` file, reproducible from `seed`. */
export function syntheticSst2File(n: number, seed: number): string {
  const lines = syntheticSentences(n, seed).map(({ text, positive }) => `${text} \t${positive ? 1 : 0}`);
  return `sentence\tlabel\n${lines.join('\n')}\n`;
}

/** The same rows read by the GLUE reader and laid out for RoBERTa (16 tokens at most). */
export function syntheticSst2Examples(n: number, seed: number): EncodedExample[] {
  const ids = (text: string) =>
    text
      .split(' ')
      .filter(Boolean)
      .map((w) => 3 + SST2_WORDS.indexOf(w));
  return parseGlueTsv('sst2', syntheticSst2File(n, seed), 'train.tsv').examples.map((e) =>
    encodeGlueExample(e, ids, ROBERTA_LAYOUT, 16),
  );
}
