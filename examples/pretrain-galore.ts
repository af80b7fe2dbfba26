/**
 * Pretrain a LLaMA with GaLore AdamW: the attention and MLP weights are updated in a rank-r
 * subspace of their gradients (refreshed every T steps), everything else with AdamW.
 *
 *   npx tsx examples/pretrain-galore.ts
 *   STEPS=200 MODEL=llama_small RANK=96 npx tsx examples/pretrain-galore.ts
 *
 * Environment: DATA (a .txt file; default the tinyshakespeare copy in ../shared/data, else the
 * CLI's excerpt), MODEL (llama_tiny), STEPS (20), BATCH (4), SEQ (64), RANK (hidden / 4),
 * GAP (update_proj_gap, default 50), LR (1e-2), SCALE (0.25), SVD (exact | randomized).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ByteTokenizer,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  TokenDataset,
  Trainer,
  type TrainSummary,
} from '@galore-ts/core';
import { createOptimizer, type SvdMethod } from '@galore-ts/galore';

export interface PretrainOptions {
  data?: string;
  model?: string;
  steps?: number;
  batchSize?: number;
  seqLen?: number;
  rank?: number;
  updateProjGap?: number;
  lr?: number;
  scale?: number;
  svd?: SvdMethod;
  log?: (line: string) => void;
}

export interface PretrainResult extends TrainSummary {
  /** Names of the weights GaLore projected. */
  projected: string[];
  /** Optimizer-state bytes after training (moments of R, projectors, AdamW state elsewhere). */
  optimizerBytes: number;
}

/** The tinyshakespeare file next to the repository, else the excerpt shipped with the CLI. */
export function defaultDataPath(): string {
  const shared = fileURLToPath(new URL('../../shared/data/tinyshakespeare.txt', import.meta.url));
  if (existsSync(shared)) return shared;
  return fileURLToPath(new URL('../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));
}

export async function pretrainGaLore(options: PretrainOptions = {}): Promise<PretrainResult> {
  const log = options.log ?? console.log;
  const config = llamaPreset(options.model ?? 'llama_tiny');
  manualSeed(0);
  const model = new LlamaForCausalLM(config);
  const data = await TokenDataset.open({
    path: options.data ?? defaultDataPath(),
    tokenizer: new ByteTokenizer(),
    seqLen: options.seqLen ?? 64,
    batchSize: options.batchSize ?? 4,
    validationSequences: 16,
  });
  const setup = createOptimizer('galore_adamw', model.namedParameters(), {
    lr: options.lr ?? 1e-2,
    weightDecay: 0,
    rank: options.rank ?? config.hidden_size / 4,
    updateProjGap: options.updateProjGap ?? 50,
    scale: options.scale ?? 0.25,
    svd: options.svd ?? 'exact',
  });
  log(`GaLore projects ${setup.projected.length} weights, e.g. ${setup.projected[0]}`);
  const steps = options.steps ?? 20;
  const trainer = new Trainer({
    model,
    optimizer: setup,
    data,
    steps,
    schedule: { warmupSteps: Math.max(1, Math.floor(steps / 10)) },
    evaluation: { every: steps, batches: () => data.validationBatches() },
    onMetrics: (row) =>
      log(
        `step ${row.step}  loss ${row.loss.toFixed(3)}  lr ${row.lr.toExponential(2)}  ${(row.tokens_per_s ?? 0).toFixed(0)} tok/s`,
      ),
  });
  try {
    const summary = await trainer.train();
    const optimizerBytes = model.backend.tracker.snapshot().live.optimizer;
    log(
      `validation loss ${summary.finalValLoss?.toFixed(3)}, optimizer state ${(optimizerBytes / 2 ** 20).toFixed(2)} MiB`,
    );
    return { ...summary, projected: setup.projected, optimizerBytes };
  } finally {
    trainer.dispose();
    model.dispose();
    await data.close();
  }
}

function fromEnv(): PretrainOptions {
  const number = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  return {
    data: process.env.DATA,
    model: process.env.MODEL,
    steps: number('STEPS'),
    batchSize: number('BATCH'),
    seqLen: number('SEQ'),
    rank: number('RANK'),
    updateProjGap: number('GAP'),
    lr: number('LR'),
    scale: number('SCALE'),
    svd: process.env.SVD as SvdMethod | undefined,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await pretrainGaLore(fromEnv());
