/**
 * Decoder self-attention as transformers' LlamaAttention (and Mistral's, Qwen2's): q/k/v projections
 * (with biases where the family has them), RoPE (rotate_half) on queries and keys, grouped-query
 * attention by repeating each key/value head for its group of query heads (query head h reads kv
 * head floor(h / group), as repeat_kv), causal softmax(q k^T / sqrt(head_dim) + bias) v, and the
 * output projection. The bias carries key padding and the sliding window (attention-mask.ts).
 */

import { tidy } from '../../engine.js';
import type { ParameterOptions } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { pipe } from '../../nn/pipe.js';
import { type RopeTables, rope, scaledDotProductAttention } from '../../ops/nn.js';
import { expand, permute, reshape } from '../../ops/shape-ops.js';
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
      const q = this.headsFirst(this.qProj.forward(x), this.numHeads, context.tables);
      let k = this.headsFirst(this.kProj.forward(x), this.numKeyValueHeads, context.tables);
      let v = this.headsFirst(this.vProj.forward(x), this.numKeyValueHeads);
      if (context.cache) ({ keys: k, values: v } = context.cache.append(this.layerIndex, k, v));
      k = this.repeatKv(k);
      v = this.repeatKv(v);
      const attended = scaledDotProductAttention(q, k, v, { causal: true, mask: context.bias });
      for (const t of [q, k, v]) t.dispose();
      const merged = pipe(
        attended,
        (t) => permute(t, [0, 2, 1, 3]),
        (t) => reshape(t, [batch, seq, this.numHeads * this.headDim]),
      );
      return pipe(merged, (t) => this.oProj.forward(t));
    });
  }

  /** [batch, seq, heads * headDim] -> [batch, heads, seq, headDim], with RoPE when tables are given. */
  private headsFirst(projected: Tensor, heads: number, tables?: RopeTables): Tensor {
    const [batch, seq] = projected.shape as [number, number, number];
    return pipe(
      projected,
      (t) => reshape(t, [batch, seq, heads, this.headDim]),
      (t) => (tables ? rope(t, tables) : t),
      (t) => permute(t, [0, 2, 1, 3]),
    );
  }

  /** [batch, kvHeads, seq, d] -> [batch, heads, seq, d], each kv head repeated for its query group. */
  private repeatKv(kv: Tensor): Tensor {
    const group = this.numHeads / this.numKeyValueHeads;
    if (group === 1) return kv;
    const [batch, kvHeads, seq, d] = kv.shape as [number, number, number, number];
    return pipe(
      kv,
      (t) => reshape(t, [batch, kvHeads, 1, seq, d]),
      (t) => expand(t, [batch, kvHeads, group, seq, d]),
      (t) => reshape(t, [batch, kvHeads * group, seq, d]),
    );
  }
}
