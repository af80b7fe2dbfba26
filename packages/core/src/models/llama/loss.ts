/**
 * Hugging Face's causal language-model loss: position s predicts token s + 1, so logits[:, :-1]
 * are scored against labels[:, 1:], labels equal to the ignore index (-100) do not count, and the
 * loss is the mean over the counted positions. Implemented by shifting the labels left and
 * ignoring the last position (as transformers does), which avoids copying the logits.
 */
import { noGrad, tidy } from '../../engine.js';
import { full } from '../../ops/creation.js';
import { crossEntropy } from '../../ops/nn.js';
import { cat, narrow } from '../../ops/shape-ops.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';

export const IGNORE_INDEX = -100;

/** logits [batch, seq, vocab] and int32 labels [batch, seq] -> scalar mean next-token loss. */
export function causalLmLoss(logits: Tensor, labels: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  if (labels.dtype !== 'int32') throw new TypeError(`causalLmLoss: labels must be int32, got ${labels.dtype}`);
  if (
    logits.rank !== 3 ||
    labels.rank !== 2 ||
    labels.shape[0] !== logits.shape[0] ||
    labels.shape[1] !== logits.shape[1]
  ) {
    throw new RangeError(
      `causalLmLoss: expected logits [batch, seq, vocab] and labels [batch, seq], got ${formatShape(logits.shape)} and ${formatShape(labels.shape)}`,
    );
  }
  const targets = shiftLabelsLeft(labels, ignoreIndex);
  const loss = crossEntropy(logits, targets, { ignoreIndex });
  targets.dispose();
  return loss;
}

/** [batch, seq] -> labels[:, 1:] followed by one ignored position. */
export function shiftLabelsLeft(labels: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  const [batch, seq] = labels.shape as [number, number];
  return noGrad(() =>
    tidy(() => {
      const tail = full([batch, 1], ignoreIndex, { dtype: 'int32', backend: labels.backend });
      if (seq === 1) return tail;
      return cat([narrow(labels, 1, 1, seq - 1), tail], 1);
    }),
  );
}
