/** LLaMA's feed-forward block: down_proj(silu(gate_proj(x)) * up_proj(x)) (SwiGLU), biased if mlp_bias. */

import { tidy } from '../../engine.js';
import type { ParameterOptions } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { siluMul } from '../../ops/nn.js';
import type { Tensor } from '../../tensor.js';
import { type LlamaConfig, projectionBiases } from './config.js';

export class LlamaMLP extends Module {
  private readonly gateProj: Linear;
  private readonly upProj: Linear;
  private readonly downProj: Linear;

  constructor(config: LlamaConfig, options: ParameterOptions = {}) {
    super();
    const linear = { ...options, initStd: config.initializer_range, bias: projectionBiases(config).mlp };
    const { hidden_size: hidden, intermediate_size: inner } = config;
    this.gateProj = this.registerModule('gate_proj', new Linear(hidden, inner, linear));
    this.upProj = this.registerModule('up_proj', new Linear(hidden, inner, linear));
    this.downProj = this.registerModule('down_proj', new Linear(inner, hidden, linear));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const gate = this.gateProj.forward(x);
      const up = this.upProj.forward(x);
      const activated = siluMul(gate, up);
      gate.dispose();
      up.dispose();
      return this.downProj.forward(activated);
    });
  }
}
