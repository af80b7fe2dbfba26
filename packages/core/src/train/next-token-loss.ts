/**
 * The language-model loss of a packed batch: a row of seqLen + 1 tokens gives seqLen inputs
 * (tokens 0..seqLen-1) and seqLen targets (tokens 1..seqLen), so every position is scored and the
 * model never sees a position it is not trained on.
 */
import type { TokenBatch } from '../data/token-dataset.js';
import { tidy } from '../engine.js';
import { fromRaw } from '../ops/creation.js';
import { crossEntropy } from '../ops/nn.js';
import type { Tensor } from '../tensor.js';
import type { CausalLanguageModel } from './interfaces.js';

/** Inputs and targets of a batch as host arrays, each [rows, seqLen]. */
export function splitBatch(batch: TokenBatch): {
  inputs: Int32Array;
  targets: Int32Array;
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
  const inputs = new Int32Array(rows * seqLen);
  const targets = new Int32Array(rows * seqLen);
  for (let r = 0; r < rows; r++) {
    const row = batch.tokens.subarray(r * width, (r + 1) * width);
    inputs.set(row.subarray(0, seqLen), r * seqLen);
    targets.set(row.subarray(1), r * seqLen);
  }
  return { inputs, targets, rows, seqLen };
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
  const { inputs, targets, rows, seqLen } = splitBatch(batch);
  const backend = model.backend;
  return tidy(() => {
    const ids = fromRaw(inputs, [rows, seqLen], 'int32', backend);
    const labels = fromRaw(targets, [rows, seqLen], 'int32', backend);
    const { logits } = model.forward(ids);
    return crossEntropy(logits, labels, { reduction });
  });
}
