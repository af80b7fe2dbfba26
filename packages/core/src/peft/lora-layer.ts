/**
 * One LoRA adapter on a Linear layer (Hu et al. 2021, as PEFT's `lora.Linear`):
 *
 *   y = base(x) + scaling * B(A(dropout(x))),   A: [r, in], B: [out, r], scaling = alpha / r
 *
 * A starts Kaiming-uniform (a = sqrt(5), PyTorch's nn.Linear default, as PEFT) and B at zero, so
 * the adapted layer starts equal to the base. Without a base weight (`factored`, the GaLore paper's
 * "Low-Rank" baseline, ReLoRA's lora_only) both factors start Kaiming-uniform and y = scaling * B A x.
 */
import { noGrad, tidy } from '../engine.js';
import type { ParameterOptions } from '../nn/init.js';
import type { LinearAdapter } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { createParameter } from '../nn/parameter.js';
import { full, rand } from '../ops/creation.js';
import { add, mul } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { dropout, linear } from '../ops/nn.js';
import { writeInto } from '../optim/update-helpers.js';
import type { Tensor } from '../tensor.js';

/** A factor of the adapter: a module holding one `weight`, named as PEFT names it (lora_A.weight). */
export class LoraFactor extends Module {
  constructor(weight: Tensor) {
    super();
    this.registerParameter('weight', weight);
  }

  get weight(): Tensor {
    return this.getParameter('weight');
  }
}

export interface LoraLayerOptions extends Omit<ParameterOptions, 'initialize'> {
  r: number;
  alpha: number;
  /** Dropout on the adapter's input in training mode (default 0). */
  dropout?: number;
  /** scaling = alpha / sqrt(r) (rsLoRA, PEFT's use_rslora) instead of alpha / r. */
  useRslora?: boolean;
  /** No base weight: both factors are trained from a random start (low-rank). */
  factored?: boolean;
}

/** scaling = alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScaling(r: number, alpha: number, useRslora = false): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

export class LoraLayer implements LinearAdapter {
  readonly loraA: LoraFactor;
  readonly loraB: LoraFactor;
  readonly modules: readonly (readonly [string, Module])[];
  readonly scaling: number;
  readonly dropout: number;
  readonly factored: boolean;
  /** Set while scaling * B A is folded into the base weight: forward then adds nothing. */
  merged = false;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LoraLayerOptions,
  ) {
    const { r, alpha } = options;
    this.scaling = loraScaling(r, alpha, options.useRslora);
    this.dropout = options.dropout ?? 0;
    this.factored = options.factored ?? false;
    const place = { dtype: options.dtype ?? 'float32', backend: options.backend };
    this.loraA = new LoraFactor(createParameter(() => full([r, inFeatures], 0, place)));
    this.loraB = new LoraFactor(createParameter(() => full([outFeatures, r], 0, place)));
    this.modules = [
      ['lora_A', this.loraA],
      ['lora_B', this.loraB],
    ];
    this.resetParameters();
  }

  get r(): number {
    return this.loraA.weight.shape[0]!;
  }

  /** Fresh factors, in place (optimizers holding them stay valid): A Kaiming-uniform, B zero (or Kaiming-uniform when factored). */
  resetParameters(): void {
    noGrad(() =>
      tidy(() => {
        writeInto(this.loraA.weight, kaimingUniform(this.loraA.weight), 'LoraLayer.resetParameters');
        const b = this.loraB.weight;
        writeInto(
          b,
          this.factored ? kaimingUniform(b) : full(b.shape, 0, { dtype: b.dtype, backend: b.backend }),
          'LoraLayer.resetParameters',
        );
      }),
    );
  }

  forward(x: Tensor, base: Tensor | undefined): Tensor {
    if (this.merged) return base!;
    return tidy(() => {
      const input = dropout(x, this.dropout, this.loraA.training);
      const update = mul(linear(linear(input, this.loraA.weight), this.loraB.weight), this.scaling);
      return base ? add(base, update) : update;
    });
  }

  /** scaling * B A, [out, in], without autograd: what merging adds to the base weight. */
  deltaWeight(): Tensor {
    return noGrad(() => tidy(() => mul(matmul(this.loraB.weight, this.loraA.weight), this.scaling)));
  }
}

/** Uniform in +-1/sqrt(fan_in): kaiming_uniform_(a = sqrt(5)), PyTorch's nn.Linear initialisation. */
function kaimingUniform(like: Tensor): Tensor {
  const bound = 1 / Math.sqrt(like.shape[1]!);
  return rand(like.shape, { low: -bound, high: bound, dtype: like.dtype, backend: like.backend });
}
