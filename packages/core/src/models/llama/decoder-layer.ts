/**
 * One LLaMA decoder layer (pre-norm): h = x + self_attn(input_layernorm(x));
 * out = h + mlp(post_attention_layernorm(h)).
 */
import { tidy } from '../../engine.js';
import type { ParameterOptions } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { RMSNorm } from '../../nn/rms-norm.js';
import { add } from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor.js';
import { type AttentionContext, LlamaAttention } from './attention.js';
import type { LlamaConfig } from './config.js';
import { LlamaMLP } from './mlp.js';

export class LlamaDecoderLayer extends Module {
  readonly selfAttn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly inputLayernorm: RMSNorm;
  readonly postAttentionLayernorm: RMSNorm;

  constructor(config: LlamaConfig, options: ParameterOptions = {}) {
    super();
    // Registration order is Hugging Face's, so parameter order matches named_parameters().
    this.selfAttn = this.registerModule('self_attn', new LlamaAttention(config, options));
    this.mlp = this.registerModule('mlp', new LlamaMLP(config, options));
    const norm = { ...options, eps: config.rms_norm_eps };
    this.inputLayernorm = this.registerModule('input_layernorm', new RMSNorm(config.hidden_size, norm));
    this.postAttentionLayernorm = this.registerModule(
      'post_attention_layernorm',
      new RMSNorm(config.hidden_size, norm),
    );
  }

  /** x [batch, seq, hidden] -> [batch, seq, hidden]. */
  forward(x: Tensor, context: AttentionContext): Tensor {
    return tidy(() => {
      const attended = tidy(() => {
        const normed = this.inputLayernorm.forward(x);
        return this.selfAttn.forward(normed, context);
      });
      const h = add(x, attended);
      attended.dispose();
      const transformed = tidy(() => {
        const normed = this.postAttentionLayernorm.forward(h);
        return this.mlp.forward(normed);
      });
      return add(h, transformed);
    });
  }
}
