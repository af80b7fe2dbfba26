/**
 * 8-bit GaLore with per-layer weight updates, the paper's recipe for LLaMA 7B on one 24 GB GPU:
 * bf16 weights, 8-bit block-wise moments of the projected gradients, and each weight stepped from
 * inside backward as soon as its gradient is complete, then the gradient freed. The run prints
 * each step's loss, the real global gradient norm, and the gradient memory, which never holds
 * more than a parameter or two at once.
 *
 *   npx tsx examples/galore-8bit-layerwise.ts
 *
 * Environment: DATA, MODEL (llama_tiny), STEPS (10), BATCH (4), SEQ (64), RANK (hidden / 4),
 * GAP (50), LR (1e-2), ACCUMULATION (micro-batches per step, 1), SVD (exact | randomized).
 */
import { pathToFileURL } from 'node:url';
import {
  ByteTokenizer,
  LlamaForCausalLM,
  llamaPreset,
  type MetricsRow,
  manualSeed,
  TokenDataset,
  Trainer,
} from '@galore-ts/core';
import { createOptimizer, type SvdMethod } from '@galore-ts/galore';
import { defaultDataPath } from './pretrain-galore.js';

export interface LayerwiseOptions {
  data?: string;
  model?: string;
  steps?: number;
  batchSize?: number;
  seqLen?: number;
  rank?: number;
  updateProjGap?: number;
  lr?: number;
  accumulation?: number;
  svd?: SvdMethod;
  log?: (line: string) => void;
}

export interface LayerwiseResult {
  rows: MetricsRow[];
  /** Highest gradient bytes alive at once during the last step. */
  peakGradientBytes: number;
  /** Bytes of the largest single parameter (its gradient is the most a layerwise step needs). */
  largestParameterBytes: number;
  /** Bytes every gradient together would take. */
  allGradientBytes: number;
  optimizerBytes: number;
}

export async function trainLayerwise8bit(options: LayerwiseOptions = {}): Promise<LayerwiseResult> {
  const log = options.log ?? console.log;
  const config = llamaPreset(options.model ?? 'llama_tiny');
  manualSeed(0);
  const model = new LlamaForCausalLM(config, { dtype: 'bfloat16' });
  const data = await TokenDataset.open({
    path: options.data ?? defaultDataPath(),
    tokenizer: new ByteTokenizer(),
    seqLen: options.seqLen ?? 64,
    batchSize: options.batchSize ?? 4,
  });
  const accumulation = options.accumulation ?? 1;
  const setup = createOptimizer('galore_adamw_8bit_layerwise', model.namedParameters(), {
    lr: options.lr ?? 1e-2,
    rank: options.rank ?? config.hidden_size / 4,
    updateProjGap: options.updateProjGap ?? 50,
    gradientAccumulationSteps: accumulation,
    svd: options.svd ?? 'exact',
    // 8-bit states for every tensor of this small model too (bitsandbytes keeps < 4096 in float32).
    minQuantizedSize: 0,
  });
  const rows: MetricsRow[] = [];
  const trainer = new Trainer({
    model,
    optimizer: setup,
    data,
    steps: options.steps ?? 10,
    gradientAccumulation: accumulation,
    onMetrics: (row) => {
      rows.push(row);
      log(
        `step ${row.step}  loss ${row.loss.toFixed(3)}  grad norm ${row.grad_norm?.toFixed(3)}  peak ${(row.peak_memory_bytes / 2 ** 20).toFixed(1)} MiB`,
      );
    },
  });
  try {
    await trainer.train();
    const snapshot = model.backend.tracker.snapshot();
    const sizes = model.parameters().map((p) => p.size * 2);
    const result = {
      rows,
      peakGradientBytes: snapshot.peak.gradient,
      largestParameterBytes: Math.max(...sizes),
      allGradientBytes: sizes.reduce((a, b) => a + b, 0),
      optimizerBytes: snapshot.live.optimizer,
    };
    log(
      `gradients alive at once: at most ${(result.peakGradientBytes / 1024).toFixed(0)} KiB of ${(result.allGradientBytes / 1024).toFixed(0)} KiB; ` +
        `optimizer state ${(result.optimizerBytes / 1024).toFixed(0)} KiB`,
    );
    return result;
  } finally {
    trainer.dispose();
    model.dispose();
    await data.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const number = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  await trainLayerwise8bit({
    data: process.env.DATA,
    model: process.env.MODEL,
    steps: number('STEPS'),
    batchSize: number('BATCH'),
    seqLen: number('SEQ'),
    rank: number('RANK'),
    updateProjGap: number('GAP'),
    lr: number('LR'),
    accumulation: number('ACCUMULATION'),
    svd: process.env.SVD as SvdMethod | undefined,
  });
}
