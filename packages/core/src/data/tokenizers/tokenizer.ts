/**
 * What the data pipeline and the CLI need from a tokenizer. `encode` never adds special tokens
 * (BOS/EOS): callers add them where they want them, so every tokenizer behaves the same way.
 */
export interface Tokenizer {
  /** A stable name: 'byte', 'gpt2', or 'hf:<path>'; data-loader states record it. */
  readonly name: string;
  /** Number of ids the model's embedding must hold (max id + 1). */
  readonly vocabSize: number;
  readonly eosId?: number;
  readonly bosId?: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
}

/** Throws unless every id is an integer in [0, vocabSize). */
export function checkTokenIds(ids: ArrayLike<number>, vocabSize: number, tokenizer: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(
        `${tokenizer} tokenizer: id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize})`,
      );
    }
  }
}
