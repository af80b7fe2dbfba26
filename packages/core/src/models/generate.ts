/**
 * Autoregressive generation with a KV cache: the prompt runs once (prefill), then each new token
 * runs alone against the cached keys and values (decode), so a step costs one token's compute plus
 * attention over the cache instead of the whole sequence again. Token choice is the caller's
 * (greedy by default), so any sampler plugs in. Timings are reported per phase.
 */
import { noGrad } from '../engine.js';
import { fromRaw } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { KVCache } from './llama/kv-cache.js';
import type { LlamaForCausalLM } from './llama/model.js';

export interface GenerateOptions {
  /** Most new tokens to produce. */
  maxNewTokens: number;
  /** Picks the next token from the last position's logits (default: the most likely one). */
  pickToken?: (logits: Float32Array) => number;
  /** Stop after producing one of these (not included in the result). */
  stopTokens?: readonly number[];
}

export interface PhaseTiming {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface GenerationResult {
  /** The new tokens, without the prompt and without the stop token. */
  tokens: number[];
  stoppedBy: 'stop-token' | 'max-new-tokens';
  prefill: PhaseTiming;
  decode: PhaseTiming;
}

export async function generate(
  model: LlamaForCausalLM,
  prompt: readonly number[],
  options: GenerateOptions,
): Promise<GenerationResult> {
  const context = model.config.max_position_embeddings;
  if (prompt.length === 0) throw new RangeError('generate: the prompt has no tokens');
  if (prompt.length + options.maxNewTokens > context) {
    throw new RangeError(
      `generate: ${prompt.length} prompt tokens + ${options.maxNewTokens} new tokens exceed the model's context of ${context} (max_position_embeddings)`,
    );
  }
  const pick = options.pickToken ?? argmax;
  const stops = new Set(options.stopTokens ?? []);
  const cache = new KVCache(model.config.num_hidden_layers);
  const wasTraining = model.training;
  model.eval();
  try {
    let started = performance.now();
    let logits = await lastLogits(model, prompt, cache);
    const prefillSeconds = (performance.now() - started) / 1000;
    const tokens: number[] = [];
    let stoppedBy: GenerationResult['stoppedBy'] = 'max-new-tokens';
    started = performance.now();
    let decoded = 0;
    while (tokens.length < options.maxNewTokens) {
      const next = pick(logits);
      if (stops.has(next)) {
        stoppedBy = 'stop-token';
        break;
      }
      tokens.push(next);
      if (tokens.length === options.maxNewTokens) break;
      logits = await lastLogits(model, [next], cache);
      decoded++;
    }
    const decodeSeconds = (performance.now() - started) / 1000;
    return {
      tokens,
      stoppedBy,
      prefill: timing(prompt.length, prefillSeconds),
      decode: timing(decoded, decodeSeconds),
    };
  } finally {
    cache.dispose();
    model.train(wasTraining);
  }
}

/** Runs `ids` after what the cache holds and returns the last position's logits. */
async function lastLogits(model: LlamaForCausalLM, ids: readonly number[], cache: KVCache): Promise<Float32Array> {
  const input = fromRaw(Int32Array.from(ids), [1, ids.length], 'int32', model.backend);
  let logits: Tensor | undefined;
  try {
    logits = noGrad(() => model.forward(input, { cache }).logits);
    const vocab = model.config.vocab_size;
    const values = await logits.data();
    return Float32Array.from(values.subarray((ids.length - 1) * vocab, ids.length * vocab));
  } finally {
    input.dispose();
    logits?.dispose();
  }
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function timing(tokens: number, seconds: number): PhaseTiming {
  return { tokens, seconds, tokensPerSecond: seconds > 0 ? tokens / seconds : 0 };
}
