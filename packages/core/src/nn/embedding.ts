import { embedding } from '../ops/nn.js';
import type { Tensor } from '../tensor.js';
import { normalParameter, type ParameterOptions } from './init.js';
import { assertSizes } from './linear.js';
import { Module } from './module.js';

export interface EmbeddingOptions extends ParameterOptions {
  /** Standard deviation of the normal initialisation (default 0.02, LLaMA's initializer_range). */
  initStd?: number;
}

/** A lookup table of `numEmbeddings` rows of size `embeddingDim`, indexed by int32 ids. */
export class Embedding extends Module {
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    assertSizes('Embedding', { numEmbeddings, embeddingDim });
    this.registerParameter('weight', normalParameter([numEmbeddings, embeddingDim], options.initStd ?? 0.02, options));
  }

  get weight(): Tensor {
    return this.getParameter('weight');
  }

  /** ids of any shape -> [...ids.shape, embeddingDim]. */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}
