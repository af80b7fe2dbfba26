/** A very small LLaMA and data for the Trainer tests (CPU backend, a few ms per step). */
import { fileURLToPath } from 'node:url';
import {
  AdamW,
  ByteTokenizer,
  type LlamaConfigInput,
  LlamaForCausalLM,
  manualSeed,
  type TokenBatch,
  TokenDataset,
} from '../../src/index.js';
import type { BatchSource, OptimizerFactory } from '../../src/train/index.js';

export const CORPUS = fileURLToPath(new URL('../../../cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));

/** vocab 258 for the byte tokenizer; everything else as small as a LLaMA can be. */
export const MICRO_LLAMA: LlamaConfigInput = {
  vocab_size: 258,
  hidden_size: 16,
  intermediate_size: 32,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
};

export function microModel(seed = 1): LlamaForCausalLM {
  manualSeed(seed);
  return new LlamaForCausalLM(MICRO_LLAMA);
}

export function adamw(lr = 1e-2): OptimizerFactory {
  return (named) =>
    new AdamW(
      named.map(([, p]) => p),
      { lr },
    );
}

export async function corpusDataset(
  options: { batchSize?: number; seqLen?: number; validation?: number } = {},
): Promise<TokenDataset> {
  return TokenDataset.open({
    path: CORPUS,
    tokenizer: new ByteTokenizer(),
    seqLen: options.seqLen ?? 16,
    batchSize: options.batchSize ?? 2,
    seed: 3,
    shuffleBuffer: 8,
    validationSequences: options.validation ?? 4,
  });
}

/** Serves fixed batches in order; its state is the index of the next one. */
export class FixedBatches implements BatchSource {
  private next = 0;
  constructor(readonly batches: readonly TokenBatch[]) {}
  async nextBatch(): Promise<TokenBatch | null> {
    return this.batches[this.next++] ?? null;
  }
  state(): { next: number } {
    return { next: this.next };
  }
  async restore(state: { next: number }): Promise<void> {
    this.next = state.next;
  }
}

/** Deterministic token rows [rows, width] from an LCG (independent of the code under test). */
export function pseudoBatch(rows: number, width: number, seed: number, vocab = 258): TokenBatch {
  let s = seed >>> 0 || 1;
  const tokens = new Int32Array(rows * width);
  for (let i = 0; i < tokens.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    tokens[i] = s % vocab;
  }
  return { tokens, shape: [rows, width] };
}

export { withTempDir } from '../helpers/temp-dir.js';
