/**
 * What the Trainer needs of a model, an optimizer and a data source. They are structural, so the
 * GaLore package's optimizers (and any data source with a resumable position) plug in without
 * core importing them.
 */
import type { Backend } from '../backend.js';
import type { TokenBatch } from '../data/token-dataset.js';
import type { DType } from '../dtype.js';
import type { OptimizerStateDict, StepReport } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';

/** A causal language model: int32 ids [batch, seq] -> logits [batch, seq, vocab]. */
export interface CausalLanguageModel {
  /** `attentionMask` [batch, seq]: 1 for tokens, 0 for padding (given for padded batches only). */
  forward(inputIds: Tensor, options?: { attentionMask?: Tensor }): { logits: Tensor };
  /** Every parameter once, with its (Hugging Face) name. */
  namedParameters(): Iterable<[string, Tensor]>;
  /** Every parameter under every name (tied weights under each), as the model saves them. */
  stateDict(): Record<string, Tensor>;
  /** For each name of a tied weight, its other names. */
  parameterAliases(): ReadonlyMap<string, readonly string[]>;
  train(mode?: boolean): unknown;
  eval(): unknown;
  /** Converts the parameters' storage dtype (new tensors: call before building the optimizer). */
  toDType(dtype: DType): unknown;
  readonly dtype: DType;
  readonly backend: Backend;
  /** Writes a Hugging Face folder: config.json + model.safetensors. */
  savePretrained(dir: string): Promise<void>;
}

/**
 * The optimizer interface the Trainer drives: core's Optimizer satisfies it, and so do the GaLore
 * package's optimizers.
 */
export interface TrainableOptimizer {
  /** Groups whose `lr` the learning-rate schedule sets. */
  readonly paramGroups: readonly { options: { lr?: number } }[];
  /** May report updates it skipped for a non-finite gradient (core's optimizers do). */
  step(): void | StepReport | Promise<void>;
  zeroGrad(): void;
  stateDict(): OptimizerStateDict;
  loadStateDict(dict: OptimizerStateDict): void;
  dispose?(): void;
}

/**
 * Per-layer ("layerwise") updates: the driver runs backward itself and steps each parameter from
 * its onGradReady hook as soon as its gradient is complete, freeing the gradient at once; the
 * optimizer's step() is never called by the Trainer. (GaLore's LayerwiseUpdater is one.)
 */
export interface LayerwiseDriver {
  /** Runs loss.backward() with per-layer updates, stepping on the last micro-batch of a step. */
  backward(loss: Tensor): unknown;
  /** Micro-batches per optimizer step the driver counts; must equal the Trainer's. */
  readonly accumulationSteps?: number;
  /** The global gradient norm of the last completed step, when the driver measures it. */
  gradNormAsync?(): Promise<{ value: number } | null>;
  /** Removes the hooks. */
  dispose?(): void;
}

/** An optimizer plus its optional layerwise driver (the shape of GaLore's createOptimizer result). */
export interface OptimizerSetup {
  optimizer: TrainableOptimizer;
  layerwise?: LayerwiseDriver | null;
}

/** Builds the optimizer from the model's named parameters (after any dtype conversion). */
export type OptimizerFactory = (namedParams: [string, Tensor][]) => TrainableOptimizer | OptimizerSetup;

/** A stream of training batches with a resumable position (TokenDataset is one). */
export interface BatchSource {
  /** The next batch of token ids [batch, seqLen + 1], or null when the data is exhausted. */
  nextBatch(): Promise<TokenBatch | null>;
  /** The exact position, as plain JSON (saved in checkpoints). */
  state(): unknown;
  /** Moves to a position saved by state() (declared as a method, so a narrower state type fits). */
  restore(state: unknown): Promise<void>;
}

/**
 * Work the Trainer runs after each optimizer step (and its schedule step), before that step's
 * evaluation and checkpoint, so a checkpoint holds its effects. ReLoRA's merge-and-reset is one.
 */
export interface TrainerHook {
  afterStep(context: { step: number; optimizer: TrainableOptimizer }): void | Promise<void>;
}
