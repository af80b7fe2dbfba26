/**
 * LlamaModel (embeddings, decoder layers, final norm) and LlamaForCausalLM (plus the language-model
 * head and the shifted next-token loss), with Hugging Face's module and parameter names. This is the
 * one decoder behind every family in ../families.ts: Mistral and Qwen2 are options of its config.
 */
import type { Backend } from '../../backend.js';
import type { DType } from '../../dtype.js';
import { getBackend, isGradEnabled, tidy } from '../../engine.js';
import { checkpoint } from '../../nn/checkpoint.js';
import { Embedding } from '../../nn/embedding.js';
import type { ParameterOptions } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module, ModuleList } from '../../nn/module.js';
import { pipe } from '../../nn/pipe.js';
import { RMSNorm } from '../../nn/rms-norm.js';
import type { RopeTables } from '../../ops/nn.js';
import { narrow } from '../../ops/shape-ops.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import type { AttentionContext } from './attention.js';
import { attentionBias } from './attention-mask.js';
import { headDim, type LlamaConfig, type LlamaConfigInput, llamaConfig } from './config.js';
import { LlamaDecoderLayer } from './decoder-layer.js';
import type { KVCache } from './kv-cache.js';
import { causalLmLoss } from './loss.js';
import {
  loadPretrainedWeights,
  readPretrainedConfig,
  type SavePretrainedOptions,
  savePretrainedFolder,
} from './pretrained.js';
import { ropeTables } from './rope-tables.js';

export interface LlamaOptions extends ParameterOptions {
  /**
   * Recompute each decoder layer's forward pass during backward instead of keeping its
   * activations (only in training mode, as transformers does).
   */
  gradientCheckpointing?: boolean;
}

export class LlamaModel extends Module {
  readonly embedTokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;
  gradientCheckpointing: boolean;

  constructor(
    readonly config: LlamaConfig,
    options: LlamaOptions = {},
  ) {
    super();
    this.gradientCheckpointing = options.gradientCheckpointing ?? false;
    this.embedTokens = this.registerModule(
      'embed_tokens',
      new Embedding(config.vocab_size, config.hidden_size, { ...options, initStd: config.initializer_range }),
    );
    this.layers = this.registerModule('layers', new ModuleList<LlamaDecoderLayer>());
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const layer = new LlamaDecoderLayer(config, options);
      layer.selfAttn.layerIndex = i;
      this.layers.push(layer);
    }
    this.norm = this.registerModule('norm', new RMSNorm(config.hidden_size, { ...options, eps: config.rms_norm_eps }));
  }

  /** int32 ids [batch, seq] -> final hidden states [batch, seq, hidden]. */
  forward(inputIds: Tensor, options: DecoderForwardOptions = {}): Tensor {
    if (options.cache && isGradEnabled()) {
      throw new Error('LlamaModel: the KV cache is for inference; run the forward pass inside noGrad()');
    }
    const past = options.cache?.length ?? 0;
    checkInputIds(inputIds, this.config, past);
    const [batch, seq] = inputIds.shape as [number, number];
    const weight = this.embedTokens.weight;
    const context: AttentionContext = {
      tables: this.ropeTablesFor(past, seq),
      bias: attentionBias({
        attentionMask: options.attentionMask,
        batch,
        queryLength: seq,
        pastLength: past,
        window: this.config.sliding_window ?? null,
        dtype: weight.dtype,
        backend: weight.backend,
      }),
      cache: options.cache,
    };
    const recompute = this.gradientCheckpointing && this.training;
    let h = this.embedTokens.forward(inputIds);
    try {
      for (const layer of this.layers) {
        const next = recompute
          ? checkpoint(
              layer,
              h,
              (x, [bias]) => layer.forward(x, { ...context, bias }),
              context.bias ? [context.bias] : [],
            )
          : layer.forward(h, context);
        h.dispose();
        h = next;
      }
    } finally {
      context.bias?.dispose();
      // Tables for a cache offset are a slice made for this pass; whole tables are shared buffers.
      if (past > 0) for (const t of [context.tables.cos, context.tables.sin]) t.dispose();
    }
    return pipe(h, (t) => this.norm.forward(t));
  }

  /** cos/sin for positions past .. past + seq - 1. */
  private ropeTablesFor(past: number, seq: number): RopeTables {
    const weight = this.embedTokens.weight;
    const tables = ropeTables(weight.backend, {
      headDim: headDim(this.config),
      seqLen: past + seq,
      theta: this.config.rope_theta,
      scaling: this.config.rope_scaling,
      dtype: weight.dtype,
    });
    if (past === 0) return tables;
    return tidy(() => ({ cos: narrow(tables.cos, 0, past, seq), sin: narrow(tables.sin, 0, past, seq) }));
  }
}

export interface DecoderForwardOptions {
  /** [batch, cached + seq]: 1 for tokens to attend to, 0 for padding (transformers' attention_mask). */
  attentionMask?: Tensor | undefined;
  /** Keys and values of earlier tokens; this pass appends its own (inference only). */
  cache?: KVCache | undefined;
}

function checkInputIds(ids: Tensor, config: LlamaConfig, past: number): void {
  if (ids.dtype !== 'int32') throw new TypeError(`LlamaModel: input ids must be int32, got ${ids.dtype}`);
  if (ids.rank !== 2)
    throw new RangeError(`LlamaModel: input ids must have shape [batch, seq], got ${formatShape(ids.shape)}`);
  const seq = ids.shape[1]!;
  const max = config.max_position_embeddings;
  if (seq < 1 || (past === 0 && seq > max)) {
    throw new RangeError(`LlamaModel: sequence length ${seq} is outside 1..${max} (max_position_embeddings)`);
  }
  if (past + seq > max) {
    throw new RangeError(
      `LlamaModel: ${past} cached + ${seq} new tokens exceed the context of ${max} positions (max_position_embeddings)`,
    );
  }
}

export interface CausalLMForwardOptions extends DecoderForwardOptions {
  /** int32 [batch, seq]; the loss scores position s against labels[:, s + 1]; -100 is ignored. */
  labels?: Tensor | undefined;
}

export interface CausalLMOutput {
  /** [batch, seq, vocab] in the model's dtype. */
  logits: Tensor;
  /** Scalar mean next-token cross-entropy, when labels were given. */
  loss?: Tensor;
}

export interface FromPretrainedOptions extends LlamaOptions {
  /** Parameter dtype; default the config's torch_dtype, else float32. */
  dtype?: DType;
}

export class LlamaForCausalLM extends Module {
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  readonly lmHead: Linear;

  constructor(config: LlamaConfig | LlamaConfigInput, options: LlamaOptions = {}) {
    super();
    this.config = llamaConfig(config);
    this.model = this.registerModule('model', new LlamaModel(this.config, options));
    const { hidden_size: hidden, vocab_size: vocab } = this.config;
    const tiedWeight = this.config.tie_word_embeddings ? this.model.embedTokens.weight : undefined;
    this.lmHead = this.registerModule(
      'lm_head',
      new Linear(hidden, vocab, { ...options, initStd: this.config.initializer_range, tiedWeight }),
    );
    this.nameParameters();
  }

  get gradientCheckpointing(): boolean {
    return this.model.gradientCheckpointing;
  }

  set gradientCheckpointing(on: boolean) {
    this.model.gradientCheckpointing = on;
  }

  /** Storage dtype of the parameters. */
  get dtype(): DType {
    return this.model.embedTokens.weight.dtype;
  }

  get backend(): Backend {
    return this.model.embedTokens.weight.backend;
  }

  forward(inputIds: Tensor, options: CausalLMForwardOptions = {}): CausalLMOutput {
    const { labels, ...decoderOptions } = options;
    if (
      labels &&
      (labels.rank !== 2 || labels.shape[0] !== inputIds.shape[0] || labels.shape[1] !== inputIds.shape[1])
    ) {
      throw new RangeError(
        `LlamaForCausalLM: labels ${formatShape(labels.shape)} must have the shape of input ids ${formatShape(inputIds.shape)}`,
      );
    }
    const logits = pipe(this.model.forward(inputIds, decoderOptions), (h) => this.lmHead.forward(h));
    if (!labels) return { logits };
    return { logits, loss: causalLmLoss(logits, labels) };
  }

  /**
   * Writes a Hugging Face folder: config.json and model.safetensors (in the parameters' dtype, tied
   * weights once, metadata format 'pt'), or shards + model.safetensors.index.json above
   * `maxShardBytes`; every file atomically.
   */
  async savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    await savePretrainedFolder(this, dir, options);
  }

  /** Loads a Hugging Face folder (config.json + model.safetensors or sharded safetensors). */
  static async fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<LlamaForCausalLM> {
    const config = await readPretrainedConfig(dir);
    const dtype = options.dtype ?? config.torch_dtype ?? 'float32';
    const model = new this(config, {
      ...options,
      dtype,
      backend: options.backend ?? getBackend(),
      initialize: false,
    });
    try {
      await loadPretrainedWeights(model, dir);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }
}
