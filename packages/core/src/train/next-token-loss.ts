/**
 * The language-model loss of a batch: a row of seqLen + 1 tokens gives seqLen inputs (tokens
 * 0..seqLen-1) and seqLen targets (tokens 1..seqLen, or the batch's labels 1..seqLen, where -100 is
 * not scored: instruction data trains on responses only). In a packed batch every position is
 * scored and the model never sees a position it is not trained on; a padded batch also carries an
 * attention mask, applied to the inputs.
 */
import type { TokenBatch } from '../data/token-dataset.js';
import { tidy } from '../engine.js';
import { IGNORE_INDEX } from '../models/llama/loss.js';
import { fromRaw } from '../ops/creation.js';
import { crossEntropy } from '../ops/nn.js';
import type { Tensor } from '../tensor.js';
import type { CausalLanguageModel } from './interfaces.js';

/** Inputs and targets of a batch as host arrays, each [rows, seqLen]. */
export function splitBatch(batch: TokenBatch): {
  inputs: Int32Array;
  targets: Int32Array;
  /** Attention mask of the inputs, when the batch is padded. */
  mask?: Int32Array;
  rows: number;
  seqLen: number;
} {
  const [rows, width] = batch.shape;
  if (!Number.isInteger(rows) || !Number.isInteger(width) || rows < 1 || width < 2) {
    throw new RangeError(
      `splitBatch: a batch must have shape [rows >= 1, seqLen + 1 >= 2], got [${batch.shape.join(', ')}]`,
    );
  }
  if (batch.tokens.length !== rows * width) {
    throw new RangeError(
      `splitBatch: a batch of shape [${rows}, ${width}] needs ${rows * width} tokens, got ${batch.tokens.length}`,
    );
  }
  const seqLen = width - 1;
  const columns = (source: Int32Array, from: number): Int32Array => {
    const out = new Int32Array(rows * seqLen);
    for (let r = 0; r < rows; r++) out.set(source.subarray(r * width + from, r * width + from + seqLen), r * seqLen);
    return out;
  };
  const split = { inputs: columns(batch.tokens, 0), targets: columns(batch.labels ?? batch.tokens, 1), rows, seqLen };
  return batch.attentionMask ? { ...split, mask: columns(batch.attentionMask, 0) } : split;
}

/** How many targets of a batch are scored (all of them unless labels say -100). */
export function scoredTargets(batch: TokenBatch): number {
  const { targets } = splitBatch(batch);
  return targets.reduce((n, t) => n + (t === IGNORE_INDEX ? 0 : 1), 0);
}

/**
 * Mean (or summed) next-token cross-entropy of `batch` under `model`, as a 0-d float32 tensor the
 * caller owns; it carries the autograd graph when grad mode is on.
 */
export function nextTokenLoss(
  model: CausalLanguageModel,
  batch: TokenBatch,
  reduction: 'mean' | 'sum' = 'mean',
): Tensor {
  const { inputs, targets, mask, rows, seqLen } = splitBatch(batch);
  const backend = model.backend;
  return tidy(() => {
    const ids = fromRaw(inputs, [rows, seqLen], 'int32', backend);
    const labels = fromRaw(targets, [rows, seqLen], 'int32', backend);
    const attentionMask = mask && fromRaw(mask, [rows, seqLen], 'int32', backend);
    const { logits } = attentionMask ? model.forward(ids, { attentionMask }) : model.forward(ids);
    return crossEntropy(logits, labels, { reduction });
  });
}
