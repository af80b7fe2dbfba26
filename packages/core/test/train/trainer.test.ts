/** The Trainer's loop: accumulation, schedule, clipping, evaluation, layerwise optimizers, bf16, data end. */
import { describe, expect, it, vi } from 'vitest';
import {
  AdamW,
  evaluate,
  type LlamaForCausalLM,
  type MetricsRow,
  nextTokenLoss,
  noGrad,
  SGD,
  type Tensor,
  type TokenBatch,
  Trainer,
  tensor,
} from '../../src/index.js';
import type { LayerwiseDriver, OptimizerFactory } from '../../src/train/index.js';
import { adamw, FixedBatches, microModel, pseudoBatch, withTempDir } from './helpers.js';

const sgd =
  (lr: number): OptimizerFactory =>
  (named) =>
    new SGD(
      named.map(([, p]) => p),
      { lr },
    );

function weightsOf(model: LlamaForCausalLM): Float32Array[] {
  return model.parameters().map((p) => Float32Array.from(p.dataSync()));
}

/** Rows [from, from + count) of a batch. */
function rowsOf(batch: TokenBatch, from: number, count: number): TokenBatch {
  const width = batch.shape[1];
  return { tokens: batch.tokens.slice(from * width, (from + count) * width), shape: [count, width] };
}

describe('Trainer', () => {
  it('gradient accumulation over 2 micro-batches of 2 rows gives the step of one 4-row batch', async () => {
    const big = pseudoBatch(4, 9, 11);
    const results: Float32Array[][] = [];
    const losses: number[] = [];
    for (const [batches, accumulation] of [
      [[big], 1],
      [[rowsOf(big, 0, 2), rowsOf(big, 2, 2)], 2],
    ] as const) {
      const model = microModel(5);
      const trainer = new Trainer({
        model,
        optimizer: sgd(0.5),
        data: new FixedBatches(batches),
        steps: 1,
        gradientAccumulation: accumulation,
        onMetrics: (row) => {
          losses.push(row.loss);
        },
      });
      await trainer.train();
      results.push(weightsOf(model));
      model.dispose();
    }
    expect(losses[1]).toBeCloseTo(losses[0]!, 5);
    const [one, two] = results as [Float32Array[], Float32Array[]];
    for (let i = 0; i < one.length; i++) {
      for (let j = 0; j < one[i]!.length; j++) expect(two[i]![j]).toBeCloseTo(one[i]![j]!, 5);
    }
  });

  it('follows linear warmup then cosine decay to minLrRatio, reporting the lr each step used', async () => {
    const model = microModel();
    const rows: MetricsRow[] = [];
    const trainer = new Trainer({
      model,
      optimizer: adamw(0.01),
      data: new FixedBatches(Array.from({ length: 10 }, (_, i) => pseudoBatch(1, 5, i + 1))),
      steps: 10,
      schedule: { warmupSteps: 3, minLrRatio: 0.2 },
      onMetrics: (row) => {
        rows.push(row);
      },
    });
    await trainer.train();
    // Step k uses the multiplier of k - 1 completed steps (as LambdaLR after k - 1 scheduler steps).
    const expected = Array.from({ length: 10 }, (_, k) =>
      k < 3 ? (0.01 * k) / 3 : 0.01 * (0.2 + 0.8 * 0.5 * (1 + Math.cos((Math.PI * (k - 3)) / 7))),
    );
    expect(rows).toHaveLength(10);
    for (const [k, row] of rows.entries()) expect(row.lr).toBeCloseTo(expected[k]!, 12);
    model.dispose();
  });

  it('clips the global gradient norm: an SGD step with lr 1 moves the weights by exactly maxGradNorm', async () => {
    const model = microModel();
    const before = weightsOf(model);
    const rows: MetricsRow[] = [];
    const trainer = new Trainer({
      model,
      optimizer: sgd(1),
      data: new FixedBatches([pseudoBatch(2, 9, 4)]),
      steps: 1,
      maxGradNorm: 1e-3,
      onMetrics: (row) => {
        rows.push(row);
      },
    });
    await trainer.train();
    const after = weightsOf(model);
    let squared = 0;
    for (const [i, w] of before.entries()) for (const [j, v] of w.entries()) squared += (v - after[i]![j]!) ** 2;
    expect(rows[0]!.grad_norm).toBeGreaterThan(1e-2);
    expect(Math.sqrt(squared)).toBeCloseTo(1e-3, 5);
    model.dispose();
  });

  it('evaluates every N steps and after the last one; val_ppl is exp(val_loss)', async () => {
    const model = microModel();
    const validation = [pseudoBatch(2, 9, 100), pseudoBatch(1, 9, 101)];
    const rows: MetricsRow[] = [];
    const trainer = new Trainer({
      model,
      optimizer: adamw(),
      data: new FixedBatches(Array.from({ length: 5 }, (_, i) => pseudoBatch(2, 9, i + 1))),
      steps: 5,
      evaluation: { every: 2, batches: () => validation },
      onMetrics: (row) => {
        rows.push(row);
      },
    });
    const summary = await trainer.train();
    expect(rows.filter((r) => r.val_loss !== undefined).map((r) => r.step)).toEqual([2, 4, 5]);
    for (const r of rows) {
      if (r.val_loss !== undefined) expect(r.val_ppl).toBeCloseTo(Math.exp(r.val_loss), 10);
      else expect(r.val_ppl).toBeUndefined();
    }
    expect(summary.finalValLoss).toBe(rows[4]!.val_loss);
    expect(summary.finalValPpl).toBe(rows[4]!.val_ppl);
    model.dispose();
  });

  it('trains until the data runs out, then saves a final checkpoint', async () => {
    await withTempDir(async (dir) => {
      const model = microModel();
      const trainer = new Trainer({
        model,
        optimizer: adamw(),
        data: new FixedBatches([pseudoBatch(1, 5, 1), pseudoBatch(1, 5, 2), pseudoBatch(1, 5, 3)]),
        steps: 10,
        checkpoints: { dir, every: 5 },
      });
      const summary = await trainer.train();
      expect(summary).toMatchObject({ stopReason: 'data exhausted', steps: 3, tokens: 12 });
      expect(summary.lastCheckpoint).toMatch(/step-00000003$/);
      model.dispose();
    });
  });

  it('stores weights in bfloat16 when asked, with float32 optimizer moments, and still learns', async () => {
    const model = microModel();
    const batch = pseudoBatch(2, 9, 8);
    const rows: MetricsRow[] = [];
    let optimizer: AdamW | undefined;
    const trainer = new Trainer({
      model,
      optimizer: (named) =>
        (optimizer = new AdamW(
          named.map(([, p]) => p),
          { lr: 1e-2 },
        )),
      data: new FixedBatches(Array.from({ length: 6 }, () => batch)),
      steps: 6,
      weightDType: 'bfloat16',
      onMetrics: (row) => {
        rows.push(row);
      },
    });
    expect(model.dtype).toBe('bfloat16');
    expect(model.parameters().every((p) => p.dtype === 'bfloat16')).toBe(true);
    await trainer.train();
    const moments = optimizer!.stateDict().tensors;
    expect(Object.values(moments).every((t) => t.dtype === 'float32')).toBe(true);
    expect(rows[5]!.loss).toBeLessThan(rows[0]!.loss - 0.05);
    model.dispose();
  });

  it('refuses weightDType with an optimizer already built on the old parameters', () => {
    const model = microModel();
    expect(
      () =>
        new Trainer({
          model,
          optimizer: new AdamW(model.parameters()),
          data: new FixedBatches([]),
          steps: 1,
          weightDType: 'bfloat16',
        }),
    ).toThrow(/weightDType 'bfloat16'.*pass the optimizer as a factory/);
    model.dispose();
  });

  it('drives a layerwise optimizer through its backward and hooks and never calls step()', async () => {
    const model = microModel();
    const params = model.parameters();
    const inner = new SGD(params, { lr: 0.5 });
    const stepSpy = vi.spyOn(inner, 'step');
    let hookCalls = 0;
    let backwardCalls = 0;
    const removers = params.map((p) =>
      p.onGradReady((t: Tensor) => {
        hookCalls++;
        inner.stepParam(t, inner.paramGroups[0]!);
        t.zeroGrad();
      }),
    );
    const driver: LayerwiseDriver = {
      accumulationSteps: 1,
      backward: (loss) => {
        backwardCalls++;
        loss.backward();
      },
      gradNormAsync: async () => ({ value: 42 }),
      dispose: () => {
        for (const remove of removers) remove();
      },
    };
    const before = weightsOf(model);
    const rows: MetricsRow[] = [];
    const trainer = new Trainer({
      model,
      optimizer: { optimizer: inner, layerwise: driver },
      data: new FixedBatches([pseudoBatch(2, 9, 3)]),
      steps: 1,
      onMetrics: (row) => {
        rows.push(row);
      },
    });
    await trainer.train();
    expect(stepSpy).not.toHaveBeenCalled();
    expect(backwardCalls).toBe(1);
    expect(hookCalls).toBe(params.length);
    expect(rows[0]!.grad_norm).toBe(42);
    const after = weightsOf(model);
    expect(after.every((w, i) => w.some((v, j) => v !== before[i]![j]))).toBe(true);
    expect(params.every((p) => p.grad === null)).toBe(true);

    const setup = { optimizer: inner, layerwise: driver };
    expect(
      () => new Trainer({ model, optimizer: setup, data: new FixedBatches([]), steps: 1, gradientAccumulation: 2 }),
    ).toThrow(
      'Trainer: the layerwise driver counts 1 micro-batches per step, the Trainer 2; build it with the same gradient accumulation',
    );
    expect(
      () => new Trainer({ model, optimizer: setup, data: new FixedBatches([]), steps: 1, maxGradNorm: 1 }),
    ).toThrow(/global gradient clipping is not possible/);
    trainer.dispose();
    model.dispose();
  });

  it('rejects bad options with messages naming them', () => {
    const model = microModel();
    const base = { model, optimizer: adamw(), data: new FixedBatches([]) };
    expect(() => new Trainer({ ...base, steps: 0 })).toThrow('Trainer: steps must be a positive integer, got 0');
    expect(() => new Trainer({ ...base, steps: 2, gradientAccumulation: 1.5 })).toThrow(
      'Trainer: gradientAccumulation must be a positive integer, got 1.5',
    );
    expect(() => new Trainer({ ...base, steps: 2, maxGradNorm: -1 })).toThrow(
      /maxGradNorm must be a finite number >= 0/,
    );
    expect(() => new Trainer({ ...base, steps: 2, evaluation: { every: 0, batches: () => [] } })).toThrow(
      'Trainer: evaluation.every must be a positive integer, got 0',
    );
    expect(() => new Trainer({ ...base, steps: 2, schedule: { warmupSteps: 5 } })).toThrow(
      /warmupSteps \(5\) must not exceed totalSteps \(2\)/,
    );
    model.dispose();
  });
});

describe('nextTokenLoss and evaluate', () => {
  it('nextTokenLoss scores every position: it matches the Hugging Face style loss of the whole row', () => {
    const model = microModel();
    const batch = pseudoBatch(2, 9, 21);
    const ours = noGrad(() => nextTokenLoss(model, batch));
    const ids = tensor(batch.tokens, { dtype: 'int32', shape: [2, 9] });
    const { logits, loss } = noGrad(() => model.forward(ids, { labels: ids }));
    expect(ours.itemSync()).toBeCloseTo(loss!.itemSync(), 5);
    for (const t of [ours, ids, logits, loss!]) t.dispose();
    model.dispose();
  });

  it('evaluate averages over tokens, not batches, and restores training mode', async () => {
    const model = microModel();
    const batches = [pseudoBatch(3, 9, 31), pseudoBatch(1, 9, 32)];
    const perBatch = batches.map((b) => {
      const l = noGrad(() => nextTokenLoss(model, b));
      const v = l.itemSync();
      l.dispose();
      return v;
    });
    const result = await evaluate(model, batches);
    expect(result.tokens).toBe(4 * 8);
    expect(result.loss).toBeCloseTo((3 * perBatch[0]! + perBatch[1]!) / 4, 5);
    expect(result.perplexity).toBeCloseTo(Math.exp(result.loss), 8);
    expect(model.training).toBe(true);
    expect((await evaluate(model, batches, { maxBatches: 1 })).batches).toBe(1);
    await expect(evaluate(model, [])).rejects.toThrow('evaluate: the validation data yielded no batches');
    model.dispose();
  });
});
