/**
 * RoBERTa and BERT encoders with a sequence-classification head, laid out and named as
 * transformers' RobertaForSequenceClassification / BertForSequenceClassification so their
 * checkpoints load by name: post-LayerNorm layers with biases, GELU (erf), padding-aware
 * attention, learned absolute positions (RoBERTa's offset by padding_idx + 1 and counted over
 * non-pad tokens only), token types.
 */

import type { DType } from '../../dtype.js';
import { noGrad, tidy } from '../../engine.js';
import { Embedding } from '../../nn/embedding.js';
import type { ParameterOptions } from '../../nn/init.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Linear } from '../../nn/linear.js';
import { Module, ModuleList } from '../../nn/module.js';
import { tensor, zeros } from '../../ops/creation.js';
import { add, cast, mul, ne, square, sub, tanh } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { crossEntropy, dropout, gelu, softmax } from '../../ops/nn.js';
import { mean } from '../../ops/reduce.js';
import { narrow, permute, reshape, transpose } from '../../ops/shape-ops.js';
import { isTensor, type Tensor } from '../../tensor.js';
import { type EncoderConfig, numLabels, type ProblemType, problemTypeOf } from './config.js';

/** Added to the attention scores of padding keys (transformers adds the dtype's minimum). */
export const MASK_VALUE = -1e30;

/** Weights as transformers initialises them: normal(0, initializer_range), zero biases. */
function linearOptions(config: EncoderConfig, options: ParameterOptions) {
  return { ...options, initStd: config.initializer_range, bias: true };
}

class EncoderEmbeddings extends Module {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly norm: LayerNorm;

  constructor(
    readonly config: EncoderConfig,
    options: ParameterOptions,
  ) {
    super();
    const h = config.hidden_size;
    const init = { ...options, initStd: config.initializer_range };
    this.wordEmbeddings = this.registerModule('word_embeddings', new Embedding(config.vocab_size, h, init));
    this.positionEmbeddings = this.registerModule(
      'position_embeddings',
      new Embedding(config.max_position_embeddings, h, init),
    );
    this.tokenTypeEmbeddings = this.registerModule(
      'token_type_embeddings',
      new Embedding(config.type_vocab_size, h, init),
    );
    this.norm = this.registerModule('LayerNorm', new LayerNorm(h, { ...options, eps: config.layer_norm_eps }));
  }

  /**
   * Position ids: RoBERTa numbers the non-pad tokens padding_idx + 1, padding_idx + 2, ... and gives
   * pad tokens padding_idx (transformers' create_position_ids_from_input_ids); BERT uses 0..S-1.
   */
  positionIds(ids: Tensor): Tensor {
    return tidy(() => {
      const [batch, seq] = ids.shape as [number, number];
      const limit = this.config.model_type === 'roberta' ? seq + this.config.pad_token_id : seq - 1;
      if (limit >= this.config.max_position_embeddings) {
        throw new RangeError(
          `sequence length ${seq} needs position ${limit}, beyond max_position_embeddings ${this.config.max_position_embeddings}`,
        );
      }
      if (this.config.model_type === 'bert') {
        const row = Int32Array.from({ length: seq }, (_, i) => i);
        const all = new Int32Array(batch * seq);
        for (let b = 0; b < batch; b++) all.set(row, b * seq);
        return tensor(all, { backend: ids.backend }).reshape(batch, seq);
      }
      // A running count of non-pad tokens: mask [B, S] @ upper-triangular ones [S, S], exact in
      // float32 for any realistic length, computed on the device (no read of the ids).
      const pad = this.config.pad_token_id;
      const mask = cast(ne(ids, pad), 'float32');
      const upper = new Float32Array(seq * seq);
      for (let i = 0; i < seq; i++) for (let j = i; j < seq; j++) upper[i * seq + j] = 1;
      const counts = matmul(mask, tensor(upper, { backend: ids.backend }).reshape(seq, seq));
      return cast(add(mul(counts, mask), pad), 'int32');
    });
  }

  forward(ids: Tensor, tokenTypeIds: Tensor | undefined, training: boolean): Tensor {
    return tidy(() => {
      const types = tokenTypeIds ?? zeros(ids.shape, { dtype: 'int32', backend: ids.backend });
      const summed = add(
        add(this.wordEmbeddings.forward(ids), this.tokenTypeEmbeddings.forward(types)),
        this.positionEmbeddings.forward(this.positionIds(ids)),
      );
      return dropout(this.norm.forward(summed), this.config.hidden_dropout_prob, training);
    });
  }
}

class SelfAttention extends Module {
  readonly heads: number;
  readonly headDim: number;
  private readonly query: Linear;
  private readonly key: Linear;
  private readonly value: Linear;

  constructor(
    readonly config: EncoderConfig,
    options: ParameterOptions,
  ) {
    super();
    const h = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.headDim = h / this.heads;
    const lin = linearOptions(config, options);
    this.query = this.registerModule('query', new Linear(h, h, lin));
    this.key = this.registerModule('key', new Linear(h, h, lin));
    this.value = this.registerModule('value', new Linear(h, h, lin));
  }

  /** x [B, S, H], maskBias [B, 1, 1, S] (0 or MASK_VALUE) -> context [B, S, H]. */
  forward(x: Tensor, maskBias: Tensor | undefined, training: boolean): Tensor {
    return tidy(() => {
      const [batch, seq, hidden] = x.shape as [number, number, number];
      const split = (t: Tensor) => permute(reshape(t, [batch, seq, this.heads, this.headDim]), [0, 2, 1, 3]);
      const q = split(this.query.forward(x));
      const k = split(this.key.forward(x));
      const v = split(this.value.forward(x));
      let scores = mul(matmul(q, transpose(k)), 1 / Math.sqrt(this.headDim));
      if (maskBias) scores = add(scores, maskBias);
      const probs = dropout(softmax(scores, -1), this.config.attention_probs_dropout_prob, training);
      const context = permute(matmul(probs, v), [0, 2, 1, 3]);
      return reshape(context, [batch, seq, hidden]);
    });
  }
}

/** dense -> dropout -> LayerNorm(. + residual): BertSelfOutput and BertOutput. */
class ResidualOutput extends Module {
  private readonly dense: Linear;
  private readonly norm: LayerNorm;

  constructor(
    readonly config: EncoderConfig,
    inFeatures: number,
    options: ParameterOptions,
  ) {
    super();
    this.dense = this.registerModule(
      'dense',
      new Linear(inFeatures, config.hidden_size, linearOptions(config, options)),
    );
    this.norm = this.registerModule(
      'LayerNorm',
      new LayerNorm(config.hidden_size, { ...options, eps: config.layer_norm_eps }),
    );
  }

  forward(x: Tensor, residual: Tensor, training: boolean): Tensor {
    return tidy(() =>
      this.norm.forward(add(dropout(this.dense.forward(x), this.config.hidden_dropout_prob, training), residual)),
    );
  }
}

class Attention extends Module {
  readonly self: SelfAttention;
  readonly output: ResidualOutput;

  constructor(config: EncoderConfig, options: ParameterOptions) {
    super();
    this.self = this.registerModule('self', new SelfAttention(config, options));
    this.output = this.registerModule('output', new ResidualOutput(config, config.hidden_size, options));
  }

  forward(x: Tensor, maskBias: Tensor | undefined, training: boolean): Tensor {
    return tidy(() => this.output.forward(this.self.forward(x, maskBias, training), x, training));
  }
}

class Intermediate extends Module {
  private readonly dense: Linear;

  constructor(config: EncoderConfig, options: ParameterOptions) {
    super();
    this.dense = this.registerModule(
      'dense',
      new Linear(config.hidden_size, config.intermediate_size, linearOptions(config, options)),
    );
  }

  forward(x: Tensor): Tensor {
    return tidy(() => gelu(this.dense.forward(x)));
  }
}

export class EncoderLayer extends Module {
  readonly attention: Attention;
  readonly intermediate: Intermediate;
  readonly output: ResidualOutput;

  constructor(config: EncoderConfig, options: ParameterOptions = {}) {
    super();
    this.attention = this.registerModule('attention', new Attention(config, options));
    this.intermediate = this.registerModule('intermediate', new Intermediate(config, options));
    this.output = this.registerModule('output', new ResidualOutput(config, config.intermediate_size, options));
  }

  forward(x: Tensor, maskBias: Tensor | undefined, training: boolean): Tensor {
    return tidy(() => {
      const attended = this.attention.forward(x, maskBias, training);
      return this.output.forward(this.intermediate.forward(attended), attended, training);
    });
  }
}

class Encoder extends Module {
  readonly layer: ModuleList<EncoderLayer>;

  constructor(config: EncoderConfig, options: ParameterOptions) {
    super();
    this.layer = this.registerModule(
      'layer',
      new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new EncoderLayer(config, options))),
    );
  }
}

class Pooler extends Module {
  private readonly dense: Linear;

  constructor(config: EncoderConfig, options: ParameterOptions) {
    super();
    this.dense = this.registerModule(
      'dense',
      new Linear(config.hidden_size, config.hidden_size, linearOptions(config, options)),
    );
  }

  /** tanh(dense(first token)). */
  forward(first: Tensor): Tensor {
    return tidy(() => tanh(this.dense.forward(first)));
  }
}

export interface EncoderModelOptions extends ParameterOptions {
  /** BERT's pooler (dense + tanh over the first token); RoBERTa's classifier has none. */
  addPoolingLayer?: boolean;
}

/** RobertaModel / BertModel: embeddings and the encoder stack, returning [B, S, H] states. */
export class EncoderModel extends Module {
  readonly embeddings: EncoderEmbeddings;
  readonly encoder: Encoder;
  readonly pooler: Pooler | undefined;

  constructor(
    readonly config: EncoderConfig,
    options: EncoderModelOptions = {},
  ) {
    super();
    this.embeddings = this.registerModule('embeddings', new EncoderEmbeddings(config, options));
    this.encoder = this.registerModule('encoder', new Encoder(config, options));
    this.pooler = options.addPoolingLayer ? this.registerModule('pooler', new Pooler(config, options)) : undefined;
  }

  forward(ids: Tensor, options: { attentionMask?: Tensor; tokenTypeIds?: Tensor } = {}): Tensor {
    return tidy(() => {
      checkIds(ids, options.attentionMask, options.tokenTypeIds);
      let hidden = this.embeddings.forward(ids, options.tokenTypeIds, this.training);
      const maskBias = options.attentionMask ? attentionBias(options.attentionMask, hidden.dtype) : undefined;
      for (const layer of this.encoder.layer) hidden = layer.forward(hidden, maskBias, this.training);
      return hidden;
    });
  }
}

/** [B, S] mask of 1 (attend) / 0 (padding) -> [B, 1, 1, S] additive bias, outside the graph. */
function attentionBias(mask: Tensor, dtype: DType): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [batch, seq] = mask.shape as [number, number];
      const keep = cast(ne(mask, 0), dtype);
      return reshape(mul(sub(1, keep), MASK_VALUE), [batch, 1, 1, seq]);
    }),
  );
}

function checkIds(ids: Tensor, mask?: Tensor, types?: Tensor): void {
  if (ids.rank !== 2 || ids.dtype !== 'int32') {
    throw new TypeError(`forward: ids must be int32 [batch, seq], got ${ids.dtype} [${ids.shape.join(', ')}]`);
  }
  for (const [name, t] of [
    ['attentionMask', mask],
    ['tokenTypeIds', types],
  ] as const) {
    if (t && (t.rank !== 2 || t.shape[0] !== ids.shape[0] || t.shape[1] !== ids.shape[1])) {
      throw new RangeError(
        `forward: ${name} [${t.shape.join(', ')}] must have the ids' shape [${ids.shape.join(', ')}]`,
      );
    }
  }
  if (types && types.dtype !== 'int32') throw new TypeError(`forward: tokenTypeIds must be int32, got ${types.dtype}`);
}

/** RoBERTa's head: dropout, dense, tanh, dropout, out_proj, on the first token (<s>). */
class RobertaClassificationHead extends Module {
  private readonly dense: Linear;
  private readonly outProj: Linear;

  constructor(
    readonly config: EncoderConfig,
    options: ParameterOptions,
  ) {
    super();
    const lin = linearOptions(config, options);
    this.dense = this.registerModule('dense', new Linear(config.hidden_size, config.hidden_size, lin));
    this.outProj = this.registerModule('out_proj', new Linear(config.hidden_size, numLabels(config), lin));
  }

  forward(first: Tensor, training: boolean): Tensor {
    return tidy(() => {
      const p = this.config.classifier_dropout ?? this.config.hidden_dropout_prob;
      const x = tanh(this.dense.forward(dropout(first, p, training)));
      return this.outProj.forward(dropout(x, p, training));
    });
  }
}

export interface SequenceClassifierInputs {
  /** 1 for tokens to attend to, 0 for padding; [batch, seq]. Default: attend to every token. */
  attentionMask?: Tensor;
  /** Segment ids (int32 [batch, seq]); default all 0. */
  tokenTypeIds?: Tensor;
  /** Class ids (int32 [batch]) or, for regression, targets ([batch] or [batch, 1]); numbers are accepted. */
  labels?: Tensor | ArrayLike<number>;
}

export interface SequenceClassifierOutput {
  /** [batch, num_labels]. */
  logits: Tensor;
  /** Mean cross-entropy, or mean squared error for regression; present when labels are given. */
  loss?: Tensor;
}

/**
 * RobertaForSequenceClassification / BertForSequenceClassification. The base model is registered
 * as `roberta` or `bert`, so the parameter names are transformers' own.
 */
export class EncoderForSequenceClassification extends Module {
  readonly base: EncoderModel;
  readonly problemType: ProblemType;
  readonly numLabels: number;
  private readonly robertaHead: RobertaClassificationHead | undefined;
  private readonly bertClassifier: Linear | undefined;

  constructor(
    readonly config: EncoderConfig,
    options: ParameterOptions = {},
  ) {
    super();
    const isBert = config.model_type === 'bert';
    this.numLabels = numLabels(config);
    this.problemType = problemTypeOf(config);
    if (this.problemType === 'regression' && this.numLabels !== 1) {
      throw new RangeError(`problem_type regression needs one label, the config has ${this.numLabels}`);
    }
    this.base = this.registerModule(
      config.model_type,
      new EncoderModel(config, { ...options, addPoolingLayer: isBert }),
    );
    if (isBert) {
      this.bertClassifier = this.registerModule(
        'classifier',
        new Linear(config.hidden_size, this.numLabels, linearOptions(config, options)),
      );
    } else {
      this.robertaHead = this.registerModule('classifier', new RobertaClassificationHead(config, options));
    }
  }

  /** The dtype of the parameters. */
  get dtype(): DType {
    return this.parameters()[0]!.dtype;
  }

  forward(ids: Tensor, inputs: SequenceClassifierInputs = {}): SequenceClassifierOutput {
    const logits = tidy(() => {
      const hidden = this.base.forward(ids, inputs);
      const [batch, , size] = hidden.shape as [number, number, number];
      const first = reshape(narrow(hidden, 1, 0, 1), [batch, size]);
      if (this.robertaHead) return this.robertaHead.forward(first, this.training);
      const p = this.config.classifier_dropout ?? this.config.hidden_dropout_prob;
      const pooled = this.base.pooler!.forward(first);
      return this.bertClassifier!.forward(dropout(pooled, p, this.training));
    });
    if (inputs.labels === undefined) return { logits };
    const loss = tidy(() => this.loss(logits, inputs.labels!));
    return { logits, loss };
  }

  private loss(logits: Tensor, labels: Tensor | ArrayLike<number>): Tensor {
    const batch = logits.shape[0]!;
    if (this.problemType === 'regression') {
      const target = isTensor(labels)
        ? cast(reshape(labels, [batch]), logits.dtype)
        : tensor(Array.from(labels), { dtype: logits.dtype, backend: logits.backend });
      if (target.size !== batch) throw new RangeError(`forward: ${target.size} labels for a batch of ${batch}`);
      return mean(square(sub(reshape(logits, [batch]), target)));
    }
    const target = isTensor(labels) ? labels : tensor(Int32Array.from(labels), { backend: logits.backend });
    if (target.dtype !== 'int32' || target.size !== batch) {
      throw new RangeError(
        `forward: labels must be ${batch} int32 class ids, got ${target.dtype} [${target.shape.join(', ')}]`,
      );
    }
    return crossEntropy(logits, reshape(target, [batch]));
  }
}
