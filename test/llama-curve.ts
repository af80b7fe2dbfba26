/**
 * The LLaMA training run whose loss curve the GPU backends' tests compare with the CPU backend's:
 * llama_tiny narrowed to 2 layers of width 64, one fixed batch of 2 x 32 byte tokens, AdamW
 * (lr 3e-3, weight decay 0.01) right after manualSeed(11). The same seed gives every backend the
 * same initial weights (Philox), so the curves differ only by rounding in another accumulation
 * order, while a wrong kernel or gradient moves the curve (5.5 -> 1.7) by far more.
 */
import {
  AdamW,
  type Backend,
  ByteTokenizer,
  getBackend,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  setBackend,
  type Tensor,
  tensor,
  tidy,
} from '@galore-ts/core';
import { expect } from 'vitest';

export const CURVE_STEPS = 20;
const BATCH = 2;
const SEQ_LEN = 32;

export const CURVE_CONFIG = llamaPreset('llama_tiny', {
  hidden_size: 64,
  intermediate_size: 160,
  num_attention_heads: 4,
  num_hidden_layers: 2,
  max_position_embeddings: SEQ_LEN,
});

/** The fixed batch: the model learns to memorise it, so the loss falls steadily. */
export function curveBatchIds(): number[][] {
  const text = 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer';
  const bytes = new ByteTokenizer().encode(text);
  return Array.from({ length: BATCH }, (_, row) => bytes.slice(row * SEQ_LEN, (row + 1) * SEQ_LEN));
}

/** Runs `fn` with `backend` active (new tensors are created on it), restoring the previous one after. */
export async function withBackend<T>(backend: Backend, fn: () => Promise<T>): Promise<T> {
  const previous = getBackend();
  setBackend(backend);
  try {
    return await fn();
  } finally {
    setBackend(previous);
  }
}

/** The losses of `steps` AdamW steps of the curve's run on `backend`. */
export function adamwCurve(backend: Backend, steps = CURVE_STEPS): Promise<number[]> {
  return withBackend(backend, async () => {
    manualSeed(11);
    const model = new LlamaForCausalLM(CURVE_CONFIG);
    expect(model.backend).toBe(backend); // else the GPU curve would be the CPU's again
    const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
    const ids = tensor(curveBatchIds(), { dtype: 'int32' });
    const losses: number[] = [];
    for (let step = 0; step < steps; step++) {
      optimizer.zeroGrad();
      const loss = tidy(() => model.forward(ids, { labels: ids }).loss as Tensor);
      loss.backward();
      optimizer.step();
      losses.push(await loss.item());
      loss.dispose();
    }
    optimizer.dispose();
    model.dispose();
    ids.dispose();
    return losses;
  });
}

/**
 * Asserts that every step's loss on the backend under test (`name`) is within `tolerance`
 * (relative) of the CPU loss, and returns the worst relative difference for the log line.
 */
export function expectLossesClose(
  gotLosses: readonly number[],
  cpuLosses: readonly number[],
  tolerance: number,
  name = 'gpu',
): number {
  expect(gotLosses).toHaveLength(cpuLosses.length);
  let worst = 0;
  gotLosses.forEach((loss, step) => {
    const want = cpuLosses[step] as number;
    const difference = Math.abs(loss - want);
    worst = Math.max(worst, difference / Math.abs(want));
    expect(difference, `step ${step}: ${name} ${loss}, cpu ${want}`).toBeLessThanOrEqual(tolerance * Math.abs(want));
  });
  return worst;
}
