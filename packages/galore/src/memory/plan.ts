/**
 * planMemory: the exact peak memory of one training step, found by running real steps (forward,
 * backward, optimizer step) of the LLaMA model on the meta backend, which allocates nothing and
 * computes nothing but counts every allocation by category. LLaMA 7B plans in seconds.
 */
import {
  type AdapterSettings,
  applyTrainingMethod,
  checkMethodOptimizer,
  createMetaBackend,
  getBackend,
  isLlamaPresetName,
  type LlamaConfig,
  type LlamaConfigInput,
  LlamaForCausalLM,
  llamaConfig,
  llamaPreset,
  type MemoryCategory,
  setBackend,
  type Tensor,
  type TrainingMethod,
  tidy,
  zeros,
} from '@galore-ts/core';
import { type CreateOptimizerOptions, createOptimizer, isOptimizerName } from '../factory.js';
import { LayerwiseUpdater } from '../layerwise.js';
import { GALORE_DEFAULTS } from '../optim/options.js';
import { defaultGaLoreRank } from '../rank.js';
import {
  activationBytesEstimate,
  gradientBytes,
  type OptimizerKind,
  type ParamInfo,
  totalOptimizerStateBytes,
  weightBytes,
} from './analytic.js';
import { type PaperFigure, paperFigures } from './paper.js';

export type PlanDType = 'bf16' | 'f32';

export interface PlanMemoryOptions extends Omit<CreateOptimizerOptions, 'rank' | 'hooks'> {
  /** A preset name (llama_60m ... llama_7b, llama_tiny, llama_small) or a config. */
  model: string | LlamaConfig | LlamaConfigInput;
  /** An optimizer name (adamw, adamw_8bit, galore_adamw, galore_adamw_8bit, galore_adafactor, ..._layerwise). */
  optimizer: string;
  /** Per-layer updates (also implied by a _layerwise name); allowed for every optimizer here. */
  layerwise?: boolean;
  rank?: number;
  batchSize: number;
  seqLen: number;
  /** Weights and activations dtype (default bf16, as the paper). */
  dtype?: PlanDType;
  gradientCheckpointing?: boolean;
  /** Training steps to run (default 2: the first refreshes the projectors, the second is a steady step). */
  steps?: number;
  /** full (default), lora, relora or low_rank: adapters freeze their base (no gradient, no optimizer state). */
  method?: TrainingMethod;
  /** Adapter rank, alpha, targets and modules trained in full, for the adapter methods. */
  adapter?: AdapterSettings;
}

export type MemoryBreakdown = Record<'weights' | 'gradients' | 'optimizer' | 'activations' | 'other' | 'total', number>;

export interface MemoryPlan {
  model: { name: string; parameters: number; trainableParameters: number; config: LlamaConfig };
  method: TrainingMethod;
  optimizer: string;
  layerwise: boolean;
  rank: number | null;
  batchSize: number;
  seqLen: number;
  dtype: PlanDType;
  gradientCheckpointing: boolean;
  /** Live bytes per category at the moment the total peaked (over all steps run). */
  measured: MemoryBreakdown;
  /** Each category's own peak (they need not coincide). */
  categoryPeaks: Record<MemoryCategory, number>;
  /** The closed-form figures (activations an estimate; gradients the largest single one when layerwise). */
  expected: Omit<MemoryBreakdown, 'other' | 'total'>;
  /** Peak total bytes of each step run. */
  stepPeaks: number[];
  paper: PaperFigure[];
}

const CATEGORY_NAMES: Record<MemoryCategory, keyof MemoryBreakdown> = {
  parameter: 'weights',
  gradient: 'gradients',
  optimizer: 'optimizer',
  activation: 'activations',
  other: 'other',
};

/** The options that are createOptimizer's (it refuses the planner's own). */
function optimizerOptions(options: PlanMemoryOptions): Omit<CreateOptimizerOptions, 'rank' | 'hooks'> {
  const {
    model: _model,
    optimizer: _optimizer,
    layerwise: _layerwise,
    rank: _rank,
    batchSize: _batchSize,
    seqLen: _seqLen,
    dtype: _dtype,
    gradientCheckpointing: _gradientCheckpointing,
    steps: _steps,
    method: _method,
    adapter: _adapter,
    ...rest
  } = options;
  return rest;
}

export function planMemory(options: PlanMemoryOptions): MemoryPlan {
  const { name: modelName, config } = resolveModel(options.model);
  const { batchSize, seqLen } = options;
  for (const [key, value] of [
    ['batchSize', batchSize],
    ['seqLen', seqLen],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`planMemory: ${key} must be a positive integer, got ${String(value)}`);
  }
  if (seqLen > config.max_position_embeddings) {
    throw new RangeError(
      `planMemory: seqLen ${seqLen} exceeds the model's max_position_embeddings ${config.max_position_embeddings}`,
    );
  }
  const dtype = options.dtype ?? 'bf16';
  if (dtype !== 'bf16' && dtype !== 'f32')
    throw new RangeError(`planMemory: dtype must be 'bf16' or 'f32', got ${String(dtype)}`);
  const steps = options.steps ?? 2;
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`planMemory: steps must be a positive integer, got ${String(steps)}`);
  const layerwise = options.layerwise === true || options.optimizer.endsWith('_layerwise');
  const baseName = options.optimizer.replace(/_layerwise$/, '');
  if (!isOptimizerName(options.optimizer) && !isOptimizerName(baseName)) {
    throw new RangeError(`planMemory: unknown optimizer '${options.optimizer}'`);
  }
  const kind = baseName as OptimizerKind;
  const method = options.method ?? 'full';
  checkMethodOptimizer(method, options.optimizer);
  const galore = kind.startsWith('galore');
  // The default createOptimizer would choose: LLaMA's projected weights all have the hidden size as a side.
  const rank = galore ? (options.rank ?? defaultGaLoreRank(config.hidden_size)) : null;

  const meta = createMetaBackend();
  const previous = getBackend();
  setBackend(meta);
  const gradientCheckpointing = options.gradientCheckpointing ?? false;
  const model = new LlamaForCausalLM(config, {
    dtype: dtype === 'bf16' ? 'bfloat16' : 'float32',
    backend: meta,
    gradientCheckpointing,
  });
  try {
    applyTrainingMethod(model, method, options.adapter ?? {}, config.hidden_size);
    // Frozen weights (an adapter's base) have no gradient and no optimizer state.
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
    const setup = createOptimizer(baseName, trainable, {
      ...optimizerOptions(options),
      rank: rank ?? undefined,
      maxGradNorm: undefined,
    });
    const updater = layerwise ? new LayerwiseUpdater(setup.optimizer, { accumulationSteps: 1 }) : null;
    const projected = new Set(setup.projected);
    const infoOf = ([n, p]: [string, Tensor]): ParamInfo => ({
      shape: p.shape,
      dtype: p.dtype,
      projected: projected.has(n),
    });
    const infos = [...model.namedParameters()].map(infoOf);
    const trainableInfos = trainable.map(infoOf);
    const stepPeaks: number[] = [];
    let best = meta.tracker.snapshot();
    try {
      for (let s = 0; s < steps; s++) {
        meta.tracker.resetPeak();
        const ids = zeros([batchSize, seqLen], { dtype: 'int32', backend: meta });
        const { logits, loss } = tidy(() => model.forward(ids, { labels: ids }));
        if (updater) updater.backward(loss!);
        else {
          loss!.backward();
          setup.optimizer.step();
          setup.optimizer.zeroGrad();
        }
        for (const t of [ids, logits, loss!]) t.dispose();
        const snap = meta.tracker.snapshot();
        stepPeaks.push(snap.totalPeak);
        if (s === 0 || snap.totalPeak > best.totalPeak) best = snap;
      }
    } finally {
      updater?.dispose();
      setup.optimizer.dispose();
    }
    const measured = {
      weights: 0,
      gradients: 0,
      optimizer: 0,
      activations: 0,
      other: 0,
      total: best.totalPeak,
    } as MemoryBreakdown;
    const categoryPeaks = { ...best.peak };
    for (const [cat, key] of Object.entries(CATEGORY_NAMES) as [MemoryCategory, keyof MemoryBreakdown][])
      measured[key] = best.atPeak[cat];
    const formula = {
      rank: rank ?? 1,
      projType: options.projType ?? GALORE_DEFAULTS.projType,
      stateDType: options.stateDType,
      blockSize: options.blockSize,
      minQuantizedSize: options.minQuantizedSize,
      beta1: options.beta1,
    };
    const expected = {
      weights: weightBytes(infos),
      gradients: gradientBytes(trainableInfos, layerwise),
      optimizer: totalOptimizerStateBytes(kind, trainableInfos, formula),
      activations: activationBytesEstimate({
        batch: batchSize,
        seq: seqLen,
        hidden: config.hidden_size,
        intermediate: config.intermediate_size,
        heads: config.num_attention_heads,
        kvHeads: config.num_key_value_heads,
        layers: config.num_hidden_layers,
        vocab: config.vocab_size,
        bytes: dtype === 'bf16' ? 2 : 4,
        gradientCheckpointing,
      }),
    };
    return {
      model: {
        name: modelName,
        parameters: model.numParameters(),
        trainableParameters: trainable.reduce((n, [, p]) => n + p.size, 0),
        config,
      },
      method,
      optimizer:
        layerwise && !options.optimizer.endsWith('_layerwise') ? `${options.optimizer}_layerwise` : options.optimizer,
      layerwise,
      rank,
      batchSize,
      seqLen,
      dtype,
      gradientCheckpointing,
      measured,
      categoryPeaks,
      expected,
      stepPeaks,
      paper: paperFigures(modelName),
    };
  } finally {
    model.dispose();
    setBackend(previous);
  }
}

function resolveModel(model: PlanMemoryOptions['model']): { name: string; config: LlamaConfig } {
  if (typeof model === 'string') {
    if (!isLlamaPresetName(model)) throw new RangeError(`planMemory: unknown model preset '${model}'`);
    return { name: model, config: llamaPreset(model) };
  }
  return { name: 'custom', config: llamaConfig(model) };
}
