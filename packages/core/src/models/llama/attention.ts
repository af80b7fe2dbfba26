/**
 * LLaMA self-attention as Hugging Face's LlamaAttention: q/k/v projections without bias, RoPE
 * (rotate_half) on queries and keys, grouped-query attention by repeating each key/value head for
 * its group of query heads (query head h reads kv head floor(h / group), as repeat_kv), causal
 * softmax(q k^T / sqrt(d)) v, and the output projection.
 */

import { tidy } from '../../engine.js';
import type { ParameterOptions } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { pipe } from '../../nn/pipe.js';
import { type RopeTables, rope, scaledDotProductAttention } from '../../ops/nn.js';
import { expand, permute, reshape } from '../../ops/shape-ops.js';
import type { Tensor } from '../../tensor.js';
import { headDim, type LlamaConfig } from './config.js';

export class LlamaAttention extends Module {
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
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
    const kvSize = this.numKeyValueHeads * this.headDim;
    const linear = { ...options, initStd: config.initializer_range };
    this.qProj = this.registerModule('q_proj', new Linear(hidden, this.numHeads * this.headDim, linear));
    this.kProj = this.registerModule('k_proj', new Linear(hidden, kvSize, linear));
    this.vProj = this.registerModule('v_proj', new Linear(hidden, kvSize, linear));
    this.oProj = this.registerModule('o_proj', new Linear(this.numHeads * this.headDim, hidden, linear));
  }

  /** x [batch, seq, hidden] -> [batch, seq, hidden], attending causally. */
  forward(x: Tensor, tables: RopeTables): Tensor {
    return tidy(() => {
      const [batch, seq] = x.shape as [number, number, number];
      const q = this.headsFirst(this.qProj.forward(x), this.numHeads, tables);
      const k = this.repeatKv(this.headsFirst(this.kProj.forward(x), this.numKeyValueHeads, tables));
      const v = this.repeatKv(this.headsFirst(this.vProj.forward(x), this.numKeyValueHeads));
      const attended = scaledDotProductAttention(q, k, v, { causal: true });
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
