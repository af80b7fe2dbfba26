/**
 * The training loop: gradient accumulation, global-norm clipping, a warmup + cosine learning-rate
 * schedule, periodic evaluation and checkpoints, a metrics callback, and a stop with a clear
 * message when the loss stops being finite. Any optimizer with the TrainableOptimizer shape plugs
 * in, per-layer ("layerwise") ones included.
 */
import type { TokenBatch } from '../data/token-dataset.js';
import type { DType } from '../dtype.js';
import { getRngState, setRngState } from '../engine.js';
import { MEMORY_CATEGORIES, type MemoryCategory } from '../memory.js';
import { clipGradNorm } from '../optim/clip-grad.js';
import { LRScheduler } from '../optim/lr-scheduler.js';
import { type LRSchedule, linearWarmupCosine } from '../optim/schedules.js';
import type { Tensor } from '../tensor.js';
import { loadCheckpoint, type TrainerState, writeCheckpoint } from './checkpoint.js';
import { CheckpointStore, resolveCheckpoint } from './checkpoint-store.js';
import { NonFiniteLossError } from './errors.js';
import { evaluate } from './evaluate.js';
import { firstNonFinite } from './finite.js';
import type {
  BatchSource,
  CausalLanguageModel,
  LayerwiseDriver,
  OptimizerFactory,
  OptimizerSetup,
  TrainableOptimizer,
  TrainerHook,
} from './interfaces.js';
import type { MetricsRow } from './metrics.js';
import { nextTokenLoss } from './next-token-loss.js';
import { optimizerStateLayout } from './state-checks.js';

export interface EvaluationOptions {
  /** Evaluate after every `every` steps, and after the last one. */
  every: number;
  /** A fresh pass over the validation batches (called once per evaluation). */
  batches: () => AsyncIterable<TokenBatch> | Iterable<TokenBatch>;
  /** Evaluate at most this many batches (default: all). */
  maxBatches?: number;
}

export interface CheckpointOptions {
  /** Folder of the run's checkpoints (step-XXXXXXXX subfolders). */
  dir: string;
  /** Save after every `every` steps, and after the last one. */
  every: number;
  /** How many checkpoints to keep (default 2; 0 keeps all). */
  keep?: number;
  /** JSON stored in every checkpoint's trainer_state.json (e.g. the command line of the run). */
  metadata?: Record<string, unknown>;
}

export interface ScheduleOptions {
  /** Linear warmup steps from 0 to the peak lr (default 0). */
  warmupSteps?: number;
  /** The cosine's floor as a fraction of the peak (default 0.1). */
  minLrRatio?: number;
}

export interface TrainerOptions {
  model: CausalLanguageModel;
  /**
   * An optimizer over the model's parameters, an { optimizer, layerwise } setup (GaLore's
   * createOptimizer result), or a factory of either (needed with `weightDType`).
   */
  optimizer: TrainableOptimizer | OptimizerSetup | OptimizerFactory;
  data: BatchSource;
  /** Optimizer steps of the whole run; the schedule decays over them. */
  steps: number;
  /** Micro-batches per optimizer step (default 1); the loss is averaged over them. */
  gradientAccumulation?: number;
  /** Clip the global gradient norm to this (default: no clipping). */
  maxGradNorm?: number;
  /** Warmup + cosine decay to `steps` (the default), or any schedule: step -> lr multiplier. */
  schedule?: ScheduleOptions | LRSchedule;
  /** Store the weights in this dtype (e.g. 'bfloat16'); the model is converted before the optimizer is built. */
  weightDType?: DType;
  evaluation?: EvaluationOptions;
  checkpoints?: CheckpointOptions;
  /** Called with each step's metrics (awaited, so it may write files). */
  onMetrics?: (row: MetricsRow) => void | Promise<void>;
  /** Called after each checkpoint is published. */
  onCheckpoint?: (dir: string, step: number) => void | Promise<void>;
  /** Run after each optimizer step, before its evaluation and checkpoint (ReLoRA's restarts). */
  hooks?: readonly TrainerHook[];
}

/** 'interrupted': requestStop() was called; the step under way finished and was checkpointed. */
export type StopReason = 'completed' | 'data exhausted' | 'interrupted';

export interface TrainSummary {
  stopReason: StopReason;
  /** Steps completed (including those before a resume). */
  steps: number;
  tokens: number;
  trainSeconds: number;
  /** tokens / trainSeconds over the whole run. */
  tokensPerSecond: number;
  /** Loss of the last step, if one ran. */
  finalLoss?: number;
  finalValLoss?: number;
  finalValPpl?: number;
  /** Highest per-step peak of tracked memory in this session, in bytes. */
  peakMemoryBytes: number;
  /** Live bytes per category at that peak. */
  memoryAtPeak: Record<MemoryCategory, number>;
  lastCheckpoint: string | null;
}

export class Trainer {
  readonly model: CausalLanguageModel;
  readonly optimizer: TrainableOptimizer;
  /** Set for per-layer updates: backward goes through it and optimizer.step() is never called. */
  readonly layerwise: LayerwiseDriver | null;
  readonly scheduler: LRScheduler;
  readonly steps: number;
  readonly gradientAccumulation: number;
  private readonly options: TrainerOptions;
  private readonly store: CheckpointStore | undefined;
  private params: Tensor[];
  private stepsDone = 0;
  private tokensSeen = 0;
  private trainSeconds = 0;
  private peakMemory = 0;
  private memoryAtPeak = Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as Record<MemoryCategory, number>;
  private lastLoss: number | undefined;
  private lastEval: { loss: number; perplexity: number } | undefined;
  private checkpoint: string | null = null;
  /** The step of `checkpoint`. */
  private savedStep = -1;
  private stopRequested = false;

  constructor(options: TrainerOptions) {
    checkOptions(options);
    this.options = options;
    this.model = options.model;
    this.steps = options.steps;
    this.gradientAccumulation = options.gradientAccumulation ?? 1;
    if (options.weightDType && options.weightDType !== this.model.dtype) {
      if (typeof options.optimizer !== 'function') {
        throw new Error(
          `Trainer: weightDType '${options.weightDType}' converts the model's parameters to new tensors, which an already built optimizer would not see; pass the optimizer as a factory (namedParams) => optimizer`,
        );
      }
      this.model.toDType(options.weightDType);
    }
    const named = this.trainableParameters();
    this.params = named.map(([, p]) => p);
    const setup = asSetup(typeof options.optimizer === 'function' ? options.optimizer(named) : options.optimizer);
    this.optimizer = setup.optimizer;
    this.layerwise = setup.layerwise ?? null;
    checkOptimizerFits(this.optimizer, this.layerwise, options);
    this.scheduler = new LRScheduler(this.optimizer, scheduleOf(options));
    this.store = options.checkpoints
      ? new CheckpointStore(options.checkpoints.dir, { keep: options.checkpoints.keep ?? 2 })
      : undefined;
  }

  /** Frozen parameters (an adapter's base) get no gradient, so they get no optimizer either. */
  private trainableParameters(): [string, Tensor][] {
    return [...this.model.namedParameters()].filter(([, p]) => p.requiresGrad);
  }

  /** Optimizer steps completed. */
  get step(): number {
    return this.stepsDone;
  }

  /** The newest checkpoint written or resumed from. */
  get lastCheckpoint(): string | null {
    return this.checkpoint;
  }

  /**
   * Restores a checkpoint (a checkpoint folder, or a folder of them, whose latest is taken):
   * weights, optimizer state, schedule, random-number state and data position. The Trainer must be
   * built as the saving one was (same model, optimizer and data settings). Returns the saved state.
   */
  async resume(path: string): Promise<TrainerState> {
    const dir = await resolveCheckpoint(path);
    const factory = this.options.optimizer;
    const optimizerState =
      typeof factory === 'function' ? await optimizerStateLayout(factory, this.trainableParameters()) : undefined;
    const state = await loadCheckpoint(dir, this.model, this.optimizer, optimizerState ? { optimizerState } : {});
    this.scheduler.loadStateDict(state.scheduler);
    setRngState(state.rng);
    await this.options.data.restore(state.data);
    this.stepsDone = state.step;
    this.tokensSeen = state.tokensSeen;
    this.trainSeconds = state.trainSeconds;
    this.checkpoint = dir;
    this.savedStep = state.step;
    return state;
  }

  /**
   * Asks train() to stop after the step under way (a signal handler calls this): that step
   * completes, a checkpoint is written, and train() returns with stopReason 'interrupted'.
   */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Trains until `steps` steps are done (or the data runs out, or requestStop()) and returns a summary. */
  async train(): Promise<TrainSummary> {
    let stopReason: StopReason = 'completed';
    this.model.train();
    while (this.stepsDone < this.steps) {
      const row = await this.trainStep();
      if (!row || this.stopRequested) {
        stopReason = row ? 'interrupted' : 'data exhausted';
        if (this.store && this.savedStep !== this.stepsDone && this.stepsDone > 0) await this.saveCheckpoint();
        break;
      }
    }
    const summary: TrainSummary = {
      stopReason,
      steps: this.stepsDone,
      tokens: this.tokensSeen,
      trainSeconds: this.trainSeconds,
      tokensPerSecond: this.trainSeconds > 0 ? this.tokensSeen / this.trainSeconds : 0,
      peakMemoryBytes: this.peakMemory,
      memoryAtPeak: { ...this.memoryAtPeak },
      lastCheckpoint: this.checkpoint,
    };
    if (this.lastLoss !== undefined) summary.finalLoss = this.lastLoss;
    if (this.lastEval) {
      summary.finalValLoss = this.lastEval.loss;
      summary.finalValPpl = this.lastEval.perplexity;
    }
    return summary;
  }

  /**
   * Runs one optimizer step (plus the evaluation and checkpoint due after it) and returns its
   * metrics, or null when the data ran out before the step could complete.
   */
  async trainStep(): Promise<MetricsRow | null> {
    const step = this.stepsDone + 1;
    const backend = this.model.backend;
    backend.tracker.resetPeak();
    const started = performance.now();
    const lr = this.optimizer.paramGroups[0]?.options.lr ?? 0;
    const accumulated = await this.accumulateGradients(step);
    if (!accumulated) return null;
    const gradNorm = this.layerwise ? (await this.layerwise.gradNormAsync?.())?.value : await this.clip(step);
    if (!this.layerwise) await this.optimizer.step();
    this.optimizer.zeroGrad();
    this.scheduler.step();
    for (const hook of this.options.hooks ?? []) await hook.afterStep({ step, optimizer: this.optimizer });
    await backend.sync();
    const seconds = (performance.now() - started) / 1000;
    this.stepsDone = step;
    this.tokensSeen += accumulated.tokens;
    this.trainSeconds += seconds;
    this.lastLoss = accumulated.loss;
    const memory = backend.tracker.snapshot();
    const peak = memory.totalPeak;
    if (peak > this.peakMemory) {
      this.peakMemory = peak;
      this.memoryAtPeak = memory.atPeak;
    }
    const row: MetricsRow = {
      step,
      loss: accumulated.loss,
      lr,
      tokens_per_s: accumulated.tokens / seconds,
      tokens: this.tokensSeen,
      elapsed_s: this.trainSeconds,
      peak_memory_bytes: peak,
    };
    if (gradNorm !== undefined) row.grad_norm = gradNorm;
    if (this.isDue(this.options.evaluation?.every)) {
      const result = await this.evaluate();
      row.val_loss = result.loss;
      row.val_ppl = result.perplexity;
    }
    await this.options.onMetrics?.(row);
    if (this.store && this.isDue(this.options.checkpoints?.every)) await this.saveCheckpoint();
    return row;
  }

  /** Validation loss and perplexity now (needs the `evaluation` option). */
  async evaluate(): Promise<{ loss: number; perplexity: number }> {
    const evaluation = this.options.evaluation;
    if (!evaluation) throw new Error('Trainer.evaluate: no evaluation option was given (validation batches)');
    const options = evaluation.maxBatches === undefined ? {} : { maxBatches: evaluation.maxBatches };
    const result = await evaluate(this.model, evaluation.batches(), options);
    this.lastEval = { loss: result.loss, perplexity: result.perplexity };
    return this.lastEval;
  }

  /** Writes a checkpoint of the current state (needs the `checkpoints` option) and returns its folder. */
  async saveCheckpoint(): Promise<string> {
    const store = this.store;
    if (!store) throw new Error('Trainer.saveCheckpoint: no checkpoints option was given (folder and interval)');
    await this.checkFinite();
    const dir = await store.save(this.stepsDone, (temp) =>
      writeCheckpoint(temp, this.model, this.optimizer, {
        step: this.stepsDone,
        tokensSeen: this.tokensSeen,
        trainSeconds: this.trainSeconds,
        scheduler: this.scheduler.stateDict(),
        rng: getRngState(),
        data: this.options.data.state(),
        metadata: this.options.checkpoints?.metadata ?? {},
      }),
    );
    this.checkpoint = dir;
    this.savedStep = this.stepsDone;
    await this.options.onCheckpoint?.(dir, this.stepsDone);
    return dir;
  }

  /** Throws instead of letting a NaN or infinity in the weights or optimizer state into a checkpoint. */
  private async checkFinite(): Promise<void> {
    const weight = await firstNonFinite(this.model.namedParameters());
    const state = weight ? null : await firstNonFinite(Object.entries(this.optimizer.stateDict().tensors));
    const bad = weight ?? state;
    if (!bad) return;
    const quantity = weight ? 'weight' : 'optimizer state';
    throw new NonFiniteLossError(this.stepsDone, quantity, bad.value, this.checkpoint, bad.name);
  }

  /** Removes layerwise hooks and frees the optimizer's state (the model belongs to the caller). */
  dispose(): void {
    this.layerwise?.dispose?.();
    this.optimizer.dispose?.();
  }

  /**
   * Forward and backward over the step's micro-batches, leaving the summed gradients of loss / n in
   * the parameters (or, for layerwise optimizers, already applied). Returns the mean loss and the
   * tokens used, or null when the data ran out.
   */
  private async accumulateGradients(step: number): Promise<{ loss: number; tokens: number } | null> {
    const n = this.gradientAccumulation;
    let lossSum = 0;
    let tokens = 0;
    for (let micro = 0; micro < n; micro++) {
      const batch = await this.options.data.nextBatch();
      if (!batch) {
        this.optimizer.zeroGrad();
        return null;
      }
      const loss = nextTokenLoss(this.model, batch);
      try {
        const value = await loss.item();
        if (!Number.isFinite(value)) {
          this.optimizer.zeroGrad();
          throw new NonFiniteLossError(step, 'loss', value, this.checkpoint);
        }
        const scaled = n === 1 ? loss : loss.div(n);
        try {
          if (this.layerwise) this.layerwise.backward(scaled);
          else scaled.backward();
        } finally {
          if (scaled !== loss) scaled.dispose();
        }
        lossSum += value;
      } finally {
        loss.dispose();
      }
      tokens += batch.shape[0] * (batch.shape[1] - 1);
    }
    return { loss: lossSum / n, tokens };
  }

  /** Clips the global gradient norm when asked; a non-finite norm stops training. */
  private async clip(step: number): Promise<number | undefined> {
    const maxNorm = this.options.maxGradNorm;
    if (maxNorm === undefined || maxNorm <= 0) return undefined;
    const norm = await clipGradNorm(this.params, maxNorm);
    if (!Number.isFinite(norm)) {
      this.optimizer.zeroGrad();
      throw new NonFiniteLossError(step, 'gradient norm', norm, this.checkpoint);
    }
    return norm;
  }

  /** Whether something scheduled every `every` steps is due after the current step. */
  private isDue(every: number | undefined): boolean {
    if (every === undefined) return false;
    return this.stepsDone % every === 0 || this.stepsDone === this.steps;
  }
}

function scheduleOf(options: TrainerOptions): LRSchedule {
  const schedule = options.schedule ?? {};
  if (typeof schedule === 'function') return schedule;
  return linearWarmupCosine({
    warmupSteps: schedule.warmupSteps ?? 0,
    totalSteps: options.steps,
    minLrRatio: schedule.minLrRatio ?? 0.1,
  });
}

function checkOptions(o: TrainerOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('Trainer: expected an options object');
  if (!o.model || typeof o.model.forward !== 'function')
    throw new TypeError('Trainer: model must be a causal language model (forward(ids) -> { logits })');
  if (!o.data || typeof o.data.nextBatch !== 'function')
    throw new TypeError('Trainer: data must have nextBatch(), state() and restore() (e.g. a TokenDataset)');
  if (!o.optimizer) throw new TypeError('Trainer: optimizer is required (an optimizer or a factory of one)');
  positiveInteger('steps', o.steps);
  if (o.gradientAccumulation !== undefined) positiveInteger('gradientAccumulation', o.gradientAccumulation);
  if (o.maxGradNorm !== undefined && !(o.maxGradNorm >= 0 && Number.isFinite(o.maxGradNorm))) {
    throw new RangeError(
      `Trainer: maxGradNorm must be a finite number >= 0 (0 disables clipping), got ${String(o.maxGradNorm)}`,
    );
  }
  if (o.evaluation) {
    positiveInteger('evaluation.every', o.evaluation.every);
    if (typeof o.evaluation.batches !== 'function')
      throw new TypeError('Trainer: evaluation.batches must be a function returning the validation batches');
    if (o.evaluation.maxBatches !== undefined) positiveInteger('evaluation.maxBatches', o.evaluation.maxBatches);
  }
  if (o.checkpoints) {
    if (typeof o.checkpoints.dir !== 'string' || o.checkpoints.dir === '')
      throw new TypeError('Trainer: checkpoints.dir must be a folder path');
    positiveInteger('checkpoints.every', o.checkpoints.every);
  }
}

function asSetup(value: TrainableOptimizer | OptimizerSetup): OptimizerSetup {
  const maybeSetup = value as Partial<OptimizerSetup> & Partial<TrainableOptimizer>;
  if (maybeSetup && maybeSetup.paramGroups === undefined && maybeSetup.optimizer !== undefined)
    return maybeSetup as OptimizerSetup;
  return { optimizer: value as TrainableOptimizer };
}

function checkOptimizerFits(optimizer: TrainableOptimizer, layerwise: LayerwiseDriver | null, o: TrainerOptions): void {
  if (
    typeof optimizer?.zeroGrad !== 'function' ||
    typeof optimizer.stateDict !== 'function' ||
    !Array.isArray(optimizer.paramGroups)
  ) {
    throw new TypeError(
      'Trainer: the optimizer must have paramGroups, step(), zeroGrad(), stateDict() and loadStateDict()',
    );
  }
  if (!layerwise) return;
  if (typeof layerwise.backward !== 'function')
    throw new TypeError('Trainer: the layerwise driver must have backward(loss)');
  const accumulation = o.gradientAccumulation ?? 1;
  if (layerwise.accumulationSteps !== undefined && layerwise.accumulationSteps !== accumulation) {
    throw new Error(
      `Trainer: the layerwise driver counts ${layerwise.accumulationSteps} micro-batches per step, the Trainer ${accumulation}; build it with the same gradient accumulation`,
    );
  }
  if ((o.maxGradNorm ?? 0) > 0) {
    throw new Error(
      'Trainer: a layerwise optimizer never holds every gradient at once, so global gradient clipping is not possible; set maxGradNorm to 0 or use a non-layerwise optimizer',
    );
  }
}

function positiveInteger(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new RangeError(`Trainer: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
}
