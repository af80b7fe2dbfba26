/** Validation loss and perplexity of a model over a sequence of batches. */
import type { TokenBatch } from '../data/token-dataset.js';
import { noGrad } from '../engine.js';
import type { CausalLanguageModel } from './interfaces.js';
import { nextTokenLoss, scoredTargets } from './next-token-loss.js';

export interface EvaluationResult {
  /** Mean next-token cross-entropy per predicted token (nats). */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Tokens predicted. */
  tokens: number;
  batches: number;
}

export interface EvaluateOptions {
  /** Stop after this many batches (default: all). */
  maxBatches?: number;
  /** Called after each batch with the counts so far (for a progress display). */
  onBatch?: (progress: { batches: number; tokens: number }) => void;
}

/**
 * Runs the model in evaluation mode without autograd over `batches` and returns the token-weighted
 * mean loss (a short last batch counts for its size). Training mode is restored afterwards.
 */
export async function evaluate(
  model: CausalLanguageModel,
  batches: AsyncIterable<TokenBatch> | Iterable<TokenBatch>,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  if (!(maxBatches >= 1)) throw new RangeError(`evaluate: maxBatches must be >= 1, got ${String(options.maxBatches)}`);
  let totalLoss = 0;
  let tokens = 0;
  let count = 0;
  model.eval();
  try {
    for await (const batch of batches) {
      const summed = noGrad(() => nextTokenLoss(model, batch, 'sum'));
      try {
        totalLoss += await summed.item();
      } finally {
        summed.dispose();
      }
      tokens += scoredTargets(batch);
      count++;
      options.onBatch?.({ batches: count, tokens });
      if (count >= maxBatches) break;
    }
  } finally {
    model.train();
  }
  if (count === 0) throw new Error('evaluate: the validation data yielded no batches');
  const loss = totalLoss / tokens;
  return { loss, perplexity: Math.exp(loss), tokens, batches: count };
}
