/**
 * Keys and values of the tokens seen so far, per decoder layer, so generation runs the prompt once
 * (prefill) and then one token per step: each step attends to the cache instead of recomputing
 * every earlier position. Keys are stored after RoPE and before the grouped-query repeat,
 * [batch, kvHeads, length, headDim]. Inference only: the cached tensors carry no graph.
 */
import { keep, noGrad } from '../../engine.js';
import { cat } from '../../ops/shape-ops.js';
import type { Tensor } from '../../tensor.js';

interface LayerEntry {
  keys: Tensor;
  values: Tensor;
}

export class KVCache {
  private readonly layers: (LayerEntry | undefined)[];
  private cachedLength = 0;

  constructor(readonly numLayers: number) {
    this.layers = new Array(numLayers).fill(undefined);
  }

  /** Tokens cached (the position of the next token). */
  get length(): number {
    return this.cachedLength;
  }

  /**
   * Appends this step's keys and values of `layer` and returns handles on the whole sequence's
   * (the caller disposes the handles; the cache keeps its own).
   */
  append(layer: number, keys: Tensor, values: Tensor): { keys: Tensor; values: Tensor } {
    const previous = this.layers[layer];
    const entry = noGrad(() => ({
      keys: keep(previous ? cat([previous.keys, keys], 2) : keys.shareAs(keys.shape)),
      values: keep(previous ? cat([previous.values, values], 2) : values.shareAs(values.shape)),
    }));
    if (previous) {
      previous.keys.dispose();
      previous.values.dispose();
    }
    this.layers[layer] = entry;
    if (layer === this.numLayers - 1) this.cachedLength = entry.keys.shape[2]!;
    return { keys: entry.keys.shareAs(entry.keys.shape), values: entry.values.shareAs(entry.values.shape) };
  }

  dispose(): void {
    for (const entry of this.layers) {
      entry?.keys.dispose();
      entry?.values.dispose();
    }
    this.layers.fill(undefined);
    this.cachedLength = 0;
  }
}
