import { linear } from '../ops/nn.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { constantParameter, normalParameter, type ParameterOptions } from './init.js';
import { Module } from './module.js';

export interface LinearOptions extends ParameterOptions {
  /** Add a bias (default false: LLaMA's projections have none). */
  bias?: boolean;
  /** Standard deviation of the normal initialisation (default 0.02, LLaMA's initializer_range). */
  initStd?: number;
  /** Use this existing parameter as the weight (tied weights, e.g. lm_head = embed_tokens). */
  tiedWeight?: Tensor;
}

/**
 * Changes what a Linear computes (LoRA, a low-rank factorisation: see peft/). Its modules are
 * registered on the Linear under their names, so parameters are named as PEFT names them
 * (`q_proj.lora_A.weight`).
 */
export interface LinearAdapter {
  readonly modules: readonly (readonly [string, Module])[];
  /** The layer's output from its input and the base layer's output (undefined without a base weight). */
  forward(x: Tensor, base: Tensor | undefined): Tensor;
}

/** y = x W^T (+ b), with W stored [out, in] as in PyTorch. */
export class Linear extends Module {
  private adapterOf: LinearAdapter | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    assertSizes('Linear', { inFeatures, outFeatures });
    const tied = options.tiedWeight;
    if (tied && (tied.rank !== 2 || tied.shape[0] !== outFeatures || tied.shape[1] !== inFeatures)) {
      throw new RangeError(
        `Linear: tiedWeight must have shape [${outFeatures}, ${inFeatures}], got ${formatShape(tied.shape)}`,
      );
    }
    this.registerParameter(
      'weight',
      tied ?? normalParameter([outFeatures, inFeatures], options.initStd ?? 0.02, options),
    );
    if (options.bias) this.registerParameter('bias', constantParameter([outFeatures], 0, options));
  }

  get weight(): Tensor {
    return this.getParameter('weight');
  }

  get bias(): Tensor | undefined {
    return this.hasParameter('bias') ? this.getParameter('bias') : undefined;
  }

  /** Whether the layer still has its own weight (a low-rank factorisation removes it). */
  get hasWeight(): boolean {
    return this.hasParameter('weight');
  }

  /**
   * Attaches `adapter` (one per layer). `removeWeight` frees the base weight, for adapters that
   * replace it rather than add to it (W = B A trained from scratch).
   */
  attachAdapter(adapter: LinearAdapter, options: { removeWeight?: boolean } = {}): void {
    if (this.adapterOf) throw new Error('Linear.attachAdapter: this layer already has an adapter');
    if (options.removeWeight) {
      if (this.bias) throw new Error('Linear.attachAdapter: cannot remove the weight of a layer with a bias');
      const weight = this.unregisterParameter('weight');
      weight.zeroGrad();
      weight.dispose();
    }
    for (const [name, module] of adapter.modules) this.registerModule(name, module);
    this.adapterOf = adapter;
  }

  forward(x: Tensor): Tensor {
    const base = this.hasWeight ? linear(x, this.weight, this.bias) : undefined;
    if (!this.adapterOf) return base!;
    return this.adapterOf.forward(x, base);
  }
}

/** Throws unless every named size is a positive integer (layer dimensions). */
export function assertSizes(where: string, sizes: Record<string, number>): void {
  for (const [what, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new RangeError(`${where}: ${what} must be a positive integer, got ${value}`);
  }
}
