/**
 * GLUE examples to model inputs, as transformers' tokenizers build them: special tokens around one
 * sentence or a pair (RoBERTa `<s> A </s></s> B </s>`, BERT `[CLS] A [SEP] B [SEP]` with token type
 * 1 on the second segment), truncation to `maxSeqLen` (`longest_first`: a token is dropped from
 * the longer side until the pair fits; on a tie from the second), and padding per batch to the
 * longest row (dynamic padding), with the attention mask.
 */
import type { GlueExample } from './glue.js';

export interface PairEncodingStyle {
  /** 'roberta': `<s> A </s></s> B </s>`, all token types 0; 'bert': `[CLS] A [SEP] B [SEP]`, B typed 1. */
  style: 'roberta' | 'bert';
  /** `<s>` or `[CLS]`. */
  clsId: number;
  /** `</s>` or `[SEP]`. */
  sepId: number;
  /** `<pad>` or `[PAD]`. */
  padId: number;
}

export interface EncodedExample {
  ids: number[];
  tokenTypeIds: number[];
  label: number;
}

/** Special tokens added to one sentence or a pair. */
export function numSpecialTokens(style: PairEncodingStyle['style'], pair: boolean): number {
  if (!pair) return 2;
  return style === 'roberta' ? 4 : 3;
}

/** Truncates `a` and `b` together to at most `budget` tokens, longest first (ties cut from `b`). */
export function truncateLongestFirst(a: number[], b: number[], budget: number): [number[], number[]] {
  let na = a.length;
  let nb = b.length;
  // One token at a time from the longer side.
  while (na + nb > budget) {
    if (na > nb) na--;
    else nb--;
  }
  return [a.slice(0, na), b.slice(0, nb)];
}

/** Encodes one example; `encode` tokenizes text without special tokens. */
export function encodeGlueExample(
  example: GlueExample,
  encode: (text: string) => number[],
  style: PairEncodingStyle,
  maxSeqLen: number,
): EncodedExample {
  const pair = example.textB !== undefined;
  const budget = maxSeqLen - numSpecialTokens(style.style, pair);
  if (budget < (pair ? 2 : 1)) {
    throw new RangeError(`maxSeqLen ${maxSeqLen} leaves no room for text beside the special tokens`);
  }
  const { clsId: cls, sepId: sep } = style;
  let a = encode(example.textA);
  if (!pair) {
    a = a.slice(0, budget);
    return { ids: [cls, ...a, sep], tokenTypeIds: new Array(a.length + 2).fill(0), label: example.label };
  }
  const [ta, tb] = truncateLongestFirst(a, encode(example.textB!), budget);
  if (style.style === 'roberta') {
    const ids = [cls, ...ta, sep, sep, ...tb, sep];
    return { ids, tokenTypeIds: new Array(ids.length).fill(0), label: example.label };
  }
  const first = [cls, ...ta, sep];
  const second = [...tb, sep];
  return {
    ids: [...first, ...second],
    tokenTypeIds: [...new Array(first.length).fill(0), ...new Array(second.length).fill(1)],
    label: example.label,
  };
}

export interface GlueBatch {
  batch: number;
  seqLen: number;
  /** [batch * seqLen] row-major. */
  ids: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  /** Class ids, or scores (regression). */
  labels: Int32Array | Float32Array;
}

/** Pads a batch to its longest row (right padding, mask 0 and token type 0 on padding). */
export function collateGlueBatch(rows: readonly EncodedExample[], padId: number, regression: boolean): GlueBatch {
  if (rows.length === 0) throw new RangeError('collateGlueBatch: an empty batch');
  const seqLen = Math.max(...rows.map((r) => r.ids.length));
  const batch = rows.length;
  const ids = new Int32Array(batch * seqLen).fill(padId);
  const attentionMask = new Int32Array(batch * seqLen);
  const tokenTypeIds = new Int32Array(batch * seqLen);
  const labels = regression ? new Float32Array(batch) : new Int32Array(batch);
  rows.forEach((row, b) => {
    ids.set(row.ids, b * seqLen);
    attentionMask.fill(1, b * seqLen, b * seqLen + row.ids.length);
    tokenTypeIds.set(row.tokenTypeIds, b * seqLen);
    labels[b] = row.label;
  });
  return { batch, seqLen, ids, attentionMask, tokenTypeIds, labels };
}
