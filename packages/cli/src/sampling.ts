/**
 * Picking the next token from logits: greedy at temperature 0, else a draw from
 * softmax(logits / temperature) restricted to the top-k tokens and then to the smallest set whose
 * probability reaches top-p (nucleus sampling), as Hugging Face's generate() applies them.
 */

export interface SamplingOptions {
  /** 0 picks the most likely token; higher flattens the distribution. */
  temperature: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the most likely tokens until their probability reaches p (1 or undefined: all). */
  topP?: number;
}

export function checkSamplingOptions(o: SamplingOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) {
    throw new RangeError(`sampling: temperature must be a finite number >= 0, got ${o.temperature}`);
  }
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) {
    throw new RangeError(`sampling: topK must be an integer >= 0, got ${o.topK}`);
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) {
    throw new RangeError(`sampling: topP must be in (0, 1], got ${o.topP}`);
  }
}

/** The candidate tokens and their probabilities after temperature, top-k and top-p (descending). */
export function samplingDistribution(
  logits: ArrayLike<number>,
  o: SamplingOptions,
): { ids: number[]; probs: number[] } {
  checkSamplingOptions(o);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (o.temperature === 0) return { ids: [order[0]!], probs: [1] };
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, order.length) : order.length;
  const ids = order.slice(0, k);
  const top = logits[ids[0]!]!;
  const weights = ids.map((id) => Math.exp((logits[id]! - top) / o.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let probs = weights.map((w) => w / total);
  const p = o.topP ?? 1;
  if (p < 1) {
    let cumulative = 0;
    let keep = 0;
    while (keep < probs.length && cumulative < p) cumulative += probs[keep++]!;
    probs = probs.slice(0, keep).map((q) => q / cumulative);
    ids.length = keep;
  }
  return { ids, probs };
}

/** Draws one token id; `random` returns uniform numbers in [0, 1). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, random: () => number): number {
  const { ids, probs } = samplingDistribution(logits, o);
  let u = random();
  for (let i = 0; i < ids.length; i++) {
    u -= probs[i]!;
    if (u < 0) return ids[i]!;
  }
  return ids[ids.length - 1]!;
}
