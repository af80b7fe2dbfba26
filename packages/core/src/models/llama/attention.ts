/**
 * Decoder self-attention as transformers' LlamaAttention (and Mistral's, Qwen2's): q/k/v projections
 * (with biases where the family has them), RoPE (rotate_half) on queries and keys, grouped-query
 * attention (query head h reads kv head floor(h / group), as repeat_kv), causal
 * softmax(q k^T / sqrt(head_dim) + bias) v, and the output projection. The bias carries key padding
 * and the sliding window (attention-mask.ts). Without cache or bias, heads stay in the
 * projections' [batch, seq, heads, dim] order for the fused kernel (causalSelfAttention).
 */

import { tidy } from '../../engine.js';
import type { ParameterOptions } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { pipe } from '../../nn/pipe.js';
import { causalSelfAttention, type RopeTables, repeatKvHeads, rope, scaledDotProductAttention } from '../../ops/nn.js';
import { permute, reshape } from '../../ops/shape-ops.js';
import type { Tensor } from '../../tensor.js';
import { headDim, type LlamaConfig, projectionBiases } from './config.js';
import type { KVCache } from './kv-cache.js';

/** What every layer's attention shares in one forward pass. */
export interface AttentionContext {
  /** cos/sin for the positions of this pass's tokens. */
  tables: RopeTables;
  /** Additive bias broadcast onto the scores [batch, heads, query, key]; undefined: causal only. */
  bias?: Tensor | undefined;
  /** Keys and values of earlier tokens, extended by this pass. */
  cache?: KVCache | undefined;
}

export class LlamaAttention extends Module {
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** Index of this layer (its slot in a KV cache). */
  layerIndex = 0;
  private readonly qProj: Linear;
  private readonly kProj: Linear;
  private readonly vProj: Linear;
  private readonly oProj: Linear;

  constructor(config: LlamaConfig, options: ParameterOptions = {}) {
    super();
    this.numHeads = config.num_attention_heads;
    this.numKeyValueHeads = config.num_key_value_heads;
    this.headDim = headDim(config);
    const hidden = config.hidden_size;
    const qSize = this.numHeads * this.headDim;
    const kvSize = this.numKeyValueHeads * this.headDim;
    const biases = projectionBiases(config);
    const qkv = { ...options, initStd: config.initializer_range, bias: biases.qkv };
    this.qProj = this.registerModule('q_proj', new Linear(hidden, qSize, qkv));
    this.kProj = this.registerModule('k_proj', new Linear(hidden, kvSize, qkv));
    this.vProj = this.registerModule('v_proj', new Linear(hidden, kvSize, qkv));
    const output = { ...options, initStd: config.initializer_range, bias: biases.output };
    this.oProj = this.registerModule('o_proj', new Linear(qSize, hidden, output));
  }

  /** x [batch, seq, hidden] -> [batch, seq, hidden], attending causally (to the cache too). */
  forward(x: Tensor, context: AttentionContext): Tensor {
    return tidy(() => {
      const [batch, seq] = x.shape as [number, number, number];
      const q = this.heads(this.qProj.forward(x), this.numHeads, context.tables);
      const k = this.heads(this.kProj.forward(x), this.numKeyValueHeads, context.tables);
      const v = this.heads(this.vProj.forward(x), this.numKeyValueHeads);
      // Training (no cache, no bias): one fused kernel on the projections' own [batch, seq, heads,
      // dim] layout. A cache or a bias (padding, sliding window) takes the heads-first path.
      const attended =
        context.cache || context.bias ? this.attendHeadsFirst(q, k, v, context) : causalSelfAttention(q, k, v);
      for (const t of [q, k, v]) t.dispose();
      return pipe(
        attended,
        (t) => reshape(t, [batch, seq, this.numHeads * this.headDim]),
        (t) => this.oProj.forward(t),
      );
    });
  }

  /** [batch, seq, heads * headDim] -> [batch, seq, heads, headDim], with RoPE when tables are given. */
  private heads(projected: Tensor, heads: number, tables?: RopeTables): Tensor {
    const [batch, seq] = projected.shape as [number, number, number];
    const split = reshape(projected, [batch, seq, heads, this.headDim]);
    return tables ? rope(split, tables) : split;
  }

  /** Attention through the KV cache and the additive bias, on [batch, heads, seq, headDim]; returns [batch, seq, heads, headDim]. */
  private attendHeadsFirst(q: Tensor, k: Tensor, v: Tensor, context: AttentionContext): Tensor {
    const [qh, kh, vh] = [q, k, v].map((t) => permute(t, [0, 2, 1, 3])) as [Tensor, Tensor, Tensor];
    const { keys, values } = context.cache ? context.cache.append(this.layerIndex, kh, vh) : { keys: kh, values: vh };
    const group = this.numHeads / this.numKeyValueHeads;
    const [kr, vr] = [repeatKvHeads(keys, group), repeatKvHeads(values, group)];
    const attended = scaledDotProductAttention(qh, kr, vr, { causal: true, mask: context.bias });
    for (const t of new Set([qh, kh, vh, keys, values, kr, vr])) t.dispose();
    return permute(attended, [0, 2, 1, 3]);
  }
}
