/**
 * The additive attention bias that the causal softmax kernel cannot express by itself: key padding
 * (transformers' `attention_mask`, 1 = attend, 0 = padding) and Mistral's sliding window (query at
 * absolute position p sees keys j with p - window < j). Causality stays in the kernel. Masked
 * scores get a large finite negative number rather than -inf, as transformers' eager attention
 * uses the dtype's minimum: a row whose keys are all padding then stays finite (its output is
 * never scored) instead of turning into NaN.
 */
import type { Backend } from '../../backend.js';
import type { DType } from '../../dtype.js';
import { noGrad, tidy } from '../../engine.js';
import { tensor } from '../../ops/creation.js';
import { add, cast, eq, mul } from '../../ops/elementwise.js';
import { reshape } from '../../ops/shape-ops.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';

export const MASKED_SCORE = -1e9;
/** float16 tops out at 65504: a smaller number that still gives exp() = 0. */
const MASKED_SCORE_F16 = -3e4;

function maskedScore(dtype: DType): number {
  return dtype === 'float16' ? MASKED_SCORE_F16 : MASKED_SCORE;
}

export interface AttentionBiasSpec {
  /** [batch, pastLength + queryLength], 1 where a key may be attended to, 0 for padding. */
  attentionMask?: Tensor | undefined;
  batch: number;
  queryLength: number;
  /** Tokens already in the KV cache before these queries. */
  pastLength: number;
  /** Sliding attention window, or null for full causal attention. */
  window: number | null;
  dtype: DType;
  backend: Backend;
}

/**
 * [batch or 1, 1, queryLength, keyLength or 1] additive bias for the attention scores, or undefined
 * when the causal kernel alone is exact (no padding mask, window not reached).
 */
export function attentionBias(spec: AttentionBiasSpec): Tensor | undefined {
  const keyLength = spec.pastLength + spec.queryLength;
  const windowed = spec.window !== null && keyLength > spec.window;
  if (!spec.attentionMask && !windowed) return undefined;
  return noGrad(() =>
    tidy(() => {
      const padding = spec.attentionMask && paddingBias(spec.attentionMask, spec.batch, keyLength, spec.dtype);
      const window = windowed ? windowBias(spec, keyLength) : undefined;
      if (padding && window) return add(padding, window);
      return (padding ?? window)!;
    }),
  );
}

function paddingBias(mask: Tensor, batch: number, keyLength: number, dtype: DType): Tensor {
  if (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== keyLength) {
    throw new RangeError(
      `attention mask must have shape [${batch}, ${keyLength}] (batch, cached + new tokens), got ${formatShape(mask.shape)}`,
    );
  }
  const masked = cast(eq(mask, 0), dtype);
  return reshape(mul(masked, maskedScore(dtype)), [batch, 1, 1, keyLength]);
}

function windowBias(spec: AttentionBiasSpec, keyLength: number): Tensor {
  const { queryLength, pastLength, window } = spec;
  const values = new Float32Array(queryLength * keyLength);
  const masked = maskedScore(spec.dtype);
  for (let i = 0; i < queryLength; i++) {
    const position = pastLength + i;
    for (let j = 0; j <= position - window!; j++) values[i * keyLength + j] = masked;
  }
  const dtype = spec.dtype === 'float64' ? 'float64' : 'float32';
  const bias = tensor(values, { shape: [1, 1, queryLength, keyLength], dtype, backend: spec.backend });
  return dtype === spec.dtype ? bias : cast(bias, spec.dtype);
}
