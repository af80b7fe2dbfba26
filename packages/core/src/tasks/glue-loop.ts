/**
 * One epoch of GLUE fine-tuning and one dev evaluation, as run_glue.py does them: shuffled
 * batches padded per batch, loss.backward(), the optimizer's step, and after the epoch the task's
 * metrics on the dev split (argmax of the logits, or the single logit for STS-B). The CLI and the
 * bench build on these; they work with any optimizer that has step() and zeroGrad().
 */
import { collateGlueBatch, type EncodedExample, type GlueBatch } from '../data/glue-batches.js';
import { Xoshiro128 } from '../data/prng.js';
import { tidy } from '../engine.js';
import type { EncoderForSequenceClassification } from '../models/roberta/model.js';
import { tensor } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { GLUE_TASKS, type GlueMetricName, type GlueTask, type GlueTaskName } from './glue-tasks.js';
import { argmaxRows, glueMetrics } from './metrics.js';

export interface GlueStepOptimizer {
  step(): unknown;
  zeroGrad(): void;
}

export interface GlueEpochOptions {
  batchSize: number;
  padId: number;
  /** Shuffle seed of this epoch (run_glue shuffles every epoch); omit to keep file order. */
  seed?: number;
  /**
   * Runs backward for a batch's loss (default `loss.backward()` then `optimizer.step()` and
   * `zeroGrad()`); per-layer optimizers that step inside backward pass their own.
   */
  backwardAndStep?: (loss: Tensor) => void;
  /** Called after every step with the step's loss (read on the host). */
  onStep?: (step: number, loss: number) => void;
}

function toTensors(model: EncoderForSequenceClassification, b: GlueBatch) {
  const backend = model.parameters()[0]!.backend;
  return {
    ids: tensor(b.ids, { backend }).reshape(b.batch, b.seqLen),
    attentionMask: tensor(b.attentionMask, { backend }).reshape(b.batch, b.seqLen),
    tokenTypeIds: tensor(b.tokenTypeIds, { backend }).reshape(b.batch, b.seqLen),
  };
}

/** Fisher-Yates order of `n` indices from a seeded generator. */
export function shuffledOrder(n: number, seed: number): number[] {
  const rng = Xoshiro128.fromSeed(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Trains one epoch in training mode; returns the mean batch loss. */
export function trainGlueEpoch(
  model: EncoderForSequenceClassification,
  rows: readonly EncodedExample[],
  optimizer: GlueStepOptimizer,
  options: GlueEpochOptions,
): { meanLoss: number; steps: number } {
  const order = options.seed === undefined ? rows.map((_, i) => i) : shuffledOrder(rows.length, options.seed);
  const regression = model.problemType === 'regression';
  model.train();
  let total = 0;
  let steps = 0;
  for (let start = 0; start < order.length; start += options.batchSize) {
    const batchRows = order.slice(start, start + options.batchSize).map((i) => rows[i]!);
    const lossValue = tidy(() => {
      const b = collateGlueBatch(batchRows, options.padId, regression);
      const inputs = toTensors(model, b);
      const { loss } = model.forward(inputs.ids, { ...inputs, labels: b.labels });
      const value = loss!.itemSync();
      if (options.backwardAndStep) options.backwardAndStep(loss!);
      else {
        loss!.backward();
        optimizer.step();
        optimizer.zeroGrad();
      }
      return value;
    });
    steps++;
    total += lossValue;
    options.onStep?.(steps, lossValue);
  }
  return { meanLoss: steps === 0 ? Number.NaN : total / steps, steps };
}

/** Evaluates in evaluation mode and returns the task's GLUE metrics and the predictions. */
export function evaluateGlue(
  model: EncoderForSequenceClassification,
  rows: readonly EncodedExample[],
  task: GlueTaskName | GlueTask,
  options: { batchSize: number; padId: number },
): { metrics: Partial<Record<GlueMetricName, number>>; predictions: number[] } {
  const t = typeof task === 'string' ? GLUE_TASKS[task] : task;
  const regression = t.problemType === 'regression';
  const wasTraining = model.training;
  model.eval();
  const predictions: number[] = [];
  try {
    for (let start = 0; start < rows.length; start += options.batchSize) {
      const b = collateGlueBatch(rows.slice(start, start + options.batchSize), options.padId, regression);
      const logits = tidy(() => {
        const inputs = toTensors(model, b);
        return Array.from(model.forward(inputs.ids, inputs).logits.dataSync());
      });
      if (regression) predictions.push(...logits);
      else predictions.push(...argmaxRows(logits, model.numLabels));
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    metrics: glueMetrics(
      t,
      predictions,
      rows.map((r) => r.label),
    ),
    predictions,
  };
}
