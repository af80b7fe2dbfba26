/**
 * Adapters injected into a model in place: each target Linear gets a LoraLayer (its parameters
 * named `<module>.lora_A.weight`, `<module>.lora_B.weight`, as PEFT names them), and every other
 * parameter is frozen (requiresGrad false: no gradient, no optimizer state) unless it belongs to
 * one of `modulesToSave`. `lora` keeps the frozen base weight; `low_rank` removes it (W = B A).
 */
import { noGrad, tidy } from '../engine.js';
import type { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { add, sub } from '../ops/elementwise.js';
import { writeInto } from '../optim/update-helpers.js';
import type { Tensor } from '../tensor.js';
import { type LoraConfig, type LoraConfigInput, loraConfig } from './lora-config.js';
import { LoraLayer } from './lora-layer.js';
import { findTargetLinears, isModuleToSave, shortName } from './targets.js';

export type AdapterMethod = 'lora' | 'low_rank';

export interface AdaptedLayer {
  /** Dotted module name (model.layers.0.self_attn.q_proj). */
  name: string;
  linear: Linear;
  adapter: LoraLayer;
}

export class LoraModel {
  private constructor(
    readonly model: Module,
    readonly config: LoraConfig,
    readonly method: AdapterMethod,
    readonly layers: readonly AdaptedLayer[],
  ) {}

  /** Wraps the target layers of `model` (in place) and freezes the rest; see the module comment. */
  static inject(model: Module, input: LoraConfigInput, method: AdapterMethod = 'lora'): LoraModel {
    const config = loraConfig(input);
    const targets = findTargetLinears(model, config.targetModules);
    if (method === 'low_rank') refuseTiedTargets(model, targets);
    const layers = targets.map(([name, linear]) => {
      const like = linear.hasWeight ? linear.weight : undefined;
      const adapter = new LoraLayer(linear.inFeatures, linear.outFeatures, {
        r: config.r,
        alpha: config.loraAlpha,
        dropout: config.loraDropout,
        useRslora: config.useRslora,
        factored: method === 'low_rank',
        ...(like ? { dtype: like.dtype, backend: like.backend } : {}),
      });
      linear.attachAdapter(adapter, { removeWeight: method === 'low_rank' });
      return { name, linear, adapter };
    });
    const adapted = new LoraModel(model, config, method, layers);
    adapted.freezeBase();
    model.nameParameters();
    return adapted;
  }

  /** The adapters' parameters with their model names (what ReLoRA merges and resets). */
  adapterParameters(): [string, Tensor][] {
    return this.layers.flatMap(({ name, adapter }) => [
      [`${name}.lora_A.weight`, adapter.loraA.weight] as [string, Tensor],
      [`${name}.lora_B.weight`, adapter.loraB.weight] as [string, Tensor],
    ]);
  }

  /** Short names of the wrapped layers (q_proj, ...), as adapter_config.json lists them. */
  targetNames(): string[] {
    return [...new Set(this.layers.map(({ name }) => shortName(name)))];
  }

  get merged(): boolean {
    return this.layers.some(({ adapter }) => adapter.merged);
  }

  /** W += scaling * B A in every wrapped layer; forward then skips the adapters (same outputs). */
  merge(): void {
    this.requireBase('merge');
    for (const { linear, adapter } of this.layers) {
      if (adapter.merged) continue;
      addDelta(linear.weight, adapter, add);
      adapter.merged = true;
    }
  }

  /** Undoes merge(): W -= scaling * B A. */
  unmerge(): void {
    this.requireBase('unmerge');
    for (const { linear, adapter } of this.layers) {
      if (!adapter.merged) continue;
      addDelta(linear.weight, adapter, sub);
      adapter.merged = false;
    }
  }

  /** ReLoRA's restart: fold every adapter into its base weight and start the adapters afresh. */
  mergeAndReinit(): void {
    this.merge();
    for (const { adapter } of this.layers) {
      adapter.resetParameters();
      adapter.merged = false;
    }
  }

  /**
   * The weights as the plain model names them, each adapter folded in (W + scaling B A, or
   * scaling B A for low-rank): what a merged Hugging Face folder holds. `created` are new tensors
   * the caller disposes; the others are the model's own parameters.
   */
  mergedWeights(): { weights: Record<string, Tensor>; created: Tensor[] } {
    const adapterParams = new Set(this.adapterParameters().map(([, p]) => p));
    const weights: Record<string, Tensor> = {};
    for (const [name, p] of this.model.namedParameters()) if (!adapterParams.has(p)) weights[name] = p;
    const created: Tensor[] = [];
    for (const { name, linear, adapter } of this.layers) {
      if (adapter.merged) continue;
      const delta = adapter.deltaWeight();
      const merged = linear.hasWeight ? noGrad(() => add(linear.weight, delta)) : delta;
      if (merged !== delta) delta.dispose();
      weights[`${name}.weight`] = merged;
      created.push(merged);
    }
    return { weights, created };
  }

  private freezeBase(): void {
    const adapterParams = new Set(this.adapterParameters().map(([, p]) => p));
    for (const p of this.model.parameters()) if (!adapterParams.has(p)) p.requiresGrad_(false);
    for (const [moduleName, module] of this.model.namedModules()) {
      if (!isModuleToSave(moduleName, this.config.modulesToSave)) continue;
      for (const p of module.parameters()) p.requiresGrad_(true);
    }
  }

  private requireBase(what: string): void {
    if (this.method === 'low_rank')
      throw new Error(`LoraModel.${what}: a low-rank model has no base weight to ${what} into`);
  }
}

function addDelta(weight: Tensor, adapter: LoraLayer, op: (a: Tensor, b: Tensor) => Tensor): void {
  noGrad(() =>
    tidy(() => {
      const delta = adapter.deltaWeight();
      writeInto(weight, op(weight, delta), 'LoraModel.merge');
    }),
  );
}

function refuseTiedTargets(model: Module, targets: readonly [string, Linear][]): void {
  const aliases = model.parameterAliases();
  const tied = targets.filter(([name]) => aliases.has(`${name}.weight`)).map(([name]) => name);
  if (tied.length > 0)
    throw new Error(
      `low_rank: ${tied.join(', ')} share their weight with another layer (tied); leave them out of target_modules`,
    );
}
